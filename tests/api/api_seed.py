"""A real SQLite database (migrated to head) with real-looking state for two tenants.

Tenant `alpha` (the operator) trades BTC/USDT and ETH/USDT: one open position each, open protective
orders, closed round trips with their fills, a decision feed and an equity curve ending now. Tenant
`beta` has its own, distinguishable state (XRP/USDT, unique reason text) so tests can prove that
nothing of one tenant ever shows up for the other.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from aitrader.core.decisions import Decision
from aitrader.core.engine_state import BALANCES_KEY, ENGINE_NS, MARKS_KEY, STATUS_KEY, STRATEGIES_KEY
from aitrader.core.orders import Fill, Order, OrderPurpose, OrderRequest, OrderStatus, OrderType, Side
from aitrader.core.time import HOUR_MS, MINUTE_MS, now_ms
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade
from aitrader.storage.records import EquityPoint, PositionRecord
from aitrader.storage.repository import TenantSession, tenant_scope

ALPHA, BETA = "alpha", "beta"
BETA_MARKER = "beta-only-reason-7f3a"  # appears in beta's data and must never appear for alpha
D = Decimal


def make_db(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def _order(
    client_id: str,
    symbol: str,
    side: Side,
    typ: OrderType,
    purpose: OrderPurpose,
    amount: str,
    price: str | None,
    status: OrderStatus,
    ts: int,
    filled: str = "0",
) -> Order:
    req = OrderRequest(
        client_id=client_id,
        symbol=symbol,
        side=side,
        type=typ,
        amount=D(amount),
        price=D(price) if price else None,
        purpose=purpose,
        created_ms=ts,
        strategy="ema_cross",
    )
    return Order(
        request=req,
        status=status,
        filled=D(filled),
        avg_price=D(price) if price and filled != "0" else None,
        updated_ms=ts,
    )


def _round_trip(
    ts_: TenantSession, tag: str, symbol: str, entry: str, exit_: str, amount: str, opened: int, closed: int
) -> None:
    pnl = (D(exit_) - D(entry)) * D(amount)
    for cid, side, price, t in (
        (f"{tag}-in", Side.BUY, entry, opened),
        (f"{tag}-out", Side.SELL, exit_, closed),
    ):
        ts_.upsert_order(
            _order(
                cid,
                symbol,
                side,
                OrderType.MARKET,
                OrderPurpose.ENTRY if side is Side.BUY else OrderPurpose.EXIT,
                amount,
                price,
                OrderStatus.FILLED,
                t,
                filled=amount,
            )
        )
        ts_.insert_fill(
            Fill(
                fill_id=f"f-{cid}",
                client_id=cid,
                symbol=symbol,
                side=side,
                amount=D(amount),
                price=D(price),
                fee=D(price) * D(amount) * D("0.001"),
                fee_currency="USDT",
                ts=t,
            )
        )
    ts_.upsert_position(
        PositionRecord(
            symbol=symbol,
            side="long",
            amount=D(amount),
            avg_entry=D(entry),
            opened_ms=opened,
            updated_ms=closed,
            status="closed",
            realized_pnl=pnl,
            closed_ms=closed,
        )
    )


def seed(engine: Engine, *, now: int | None = None) -> int:
    """Write both tenants' state; returns the `now` used (latest equity point)."""
    now = now if now is not None else now_ms()
    start = now - 48 * HOUR_MS
    with tenant_scope(engine, ALPHA, write=True, create_tenant=True) as a:
        a.save_state(
            ENGINE_NS,
            STATUS_KEY,
            {
                "mode": "paper",
                "entries_paused": False,
                "kill_switch": False,
                "quote_currency": "USDT",
                "started_ms": start,
                "heartbeat_ms": now,
                "heartbeat_interval_ms": 10_000,
            },
        )
        a.save_state(
            ENGINE_NS,
            BALANCES_KEY,
            {
                "USDT": {"total": "10412.55", "free": "6012.55", "used": "4400"},
                "BTC": {"total": "0.05", "free": "0.05", "used": "0"},
            },
        )
        a.save_state(ENGINE_NS, MARKS_KEY, {"BTC/USDT": "64250.5", "ETH/USDT": "3120.25"})
        a.save_state(
            ENGINE_NS,
            STRATEGIES_KEY,
            {"ema_cross": {"signals": 41, "trades": 6, "wins": 4, "pnl": "212.40", "avg_runtime_ms": 0.8}},
        )
        a.upsert_position(
            PositionRecord(
                symbol="BTC/USDT",
                side="long",
                amount=D("0.05"),
                avg_entry=D("63010.1"),
                opened_ms=now - 3 * HOUR_MS,
                updated_ms=now,
                stop=D("61800"),
                take=D("66000"),
            )
        )
        a.upsert_position(
            PositionRecord(
                symbol="ETH/USDT",
                side="short",
                amount=D("0.8"),
                avg_entry=D("3150.75"),
                opened_ms=now - 2 * HOUR_MS,
                updated_ms=now,
                stop=D("3230"),
                take=D("3010"),
            )
        )
        a.upsert_order(
            _order(
                "a-stop-btc",
                "BTC/USDT",
                Side.SELL,
                OrderType.STOP_MARKET,
                OrderPurpose.STOP_LOSS,
                "0.05",
                "61800",
                OrderStatus.OPEN,
                now - 3 * HOUR_MS,
            )
        )
        a.upsert_order(
            _order(
                "a-take-eth",
                "ETH/USDT",
                Side.BUY,
                OrderType.LIMIT,
                OrderPurpose.TAKE_PROFIT,
                "0.8",
                "3010",
                OrderStatus.OPEN,
                now - 2 * HOUR_MS,
            )
        )
        _round_trip(
            a, "a-rt1", "BTC/USDT", "61500", "62380.5", "0.04", now - 30 * HOUR_MS, now - 26 * HOUR_MS
        )
        _round_trip(a, "a-rt2", "ETH/USDT", "3050", "3021.4", "1", now - 20 * HOUR_MS, now - 18 * HOUR_MS)
        for i in range(30):
            ts = now - (30 - i) * 10 * MINUTE_MS
            a.add_decision(
                Decision(
                    ts=ts,
                    symbol="BTC/USDT" if i % 2 else "ETH/USDT",
                    direction=(1, 0, -1)[i % 3],
                    confidence=0.4 + (i % 5) / 10,
                    price=63000.0 + i,
                    reasons=(f"ema 12 crossed above ema 26 (bar {i})", "adx 27 > 25: trending"),
                    strategy_votes=(("ema_cross", 1, 0.7), ("trend_adx", 1, 0.5)),
                ),
                outcome="traded" if i % 3 == 0 else "",
            )
        for i in range(49):
            ts = start + i * HOUR_MS
            a.add_equity(
                EquityPoint(
                    ts=min(ts, now), equity=D("10000") + D(i * 8) + D("0.55"), cash=D("6000"), currency="USDT"
                )
            )
    with tenant_scope(engine, BETA, write=True, create_tenant=True) as b:
        b.save_state(
            ENGINE_NS,
            STATUS_KEY,
            {
                "mode": "live",
                "entries_paused": True,
                "kill_switch": False,
                "quote_currency": "USDT",
                "heartbeat_ms": now,
            },
        )
        b.upsert_position(
            PositionRecord(
                symbol="XRP/USDT",
                side="long",
                amount=D("1500"),
                avg_entry=D("0.5123"),
                opened_ms=now - HOUR_MS,
                updated_ms=now,
            )
        )
        b.upsert_order(
            _order(
                "b-stop-xrp",
                "XRP/USDT",
                Side.SELL,
                OrderType.STOP_MARKET,
                OrderPurpose.STOP_LOSS,
                "1500",
                "0.49",
                OrderStatus.OPEN,
                now - HOUR_MS,
            )
        )
        b.add_decision(
            Decision(
                ts=now - MINUTE_MS,
                symbol="XRP/USDT",
                direction=1,
                confidence=0.9,
                price=0.51,
                reasons=(BETA_MARKER,),
            )
        )
        b.add_equity(EquityPoint(ts=now, equity=D("777.77"), cash=D("0"), currency="USDT"))
    return now


def add_live_equity(engine: Engine, tenant: str, ts: int, equity: str) -> None:
    with tenant_scope(engine, tenant, write=True) as t:
        t.add_equity(EquityPoint(ts=ts, equity=D(equity), cash=D("6000"), currency="USDT"))


def set_paused(engine: Engine, tenant: str, paused: bool) -> None:
    with tenant_scope(engine, tenant, write=True) as t:
        st = dict(t.load_state(ENGINE_NS, STATUS_KEY, {}) or {})
        st["entries_paused"] = paused
        t.save_state(ENGINE_NS, STATUS_KEY, st)
