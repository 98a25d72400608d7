"""`StoreBackedControl`: the in-process `EngineControl`, reading storage and queuing commands.

Reads go through the storage repository's `TenantSession` (so every query carries the tenant
filter) in a worker thread, one short read transaction per call; engine-only facts come from the
`kv_state` values described in `core.engine_state`. Actions become `core.commands` on the engine's
queue via the `CommandBus`. Candles for the chart are the running session's published closed
candles (`engine/candles:<symbol>`), else the Parquet history store's closed ones.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from aitrader.api import views
from aitrader.api.control import CommandBus, NotFound
from aitrader.api.redact import redacted_config
from aitrader.config import Settings
from aitrader.core import engine_state as es
from aitrader.core.commands import (
    CloseAll,
    ClosePosition,
    CommandResult,
    KillSwitch,
    PauseEntries,
    ResumeEntries,
    RiskLimitName,
    RiskLimitValue,
    UpdateRiskLimits,
)
from aitrader.core.errors import DataError
from aitrader.core.orders import OrderStatus
from aitrader.core.time import DAY_MS, now_ms, timeframe_to_ms
from aitrader.data.store import HistoryStore
from aitrader.storage.repository import TenantSession, tenant_scope
from aitrader.storage.schema import DecisionRow, PositionRow

T = TypeVar("T")
ZERO = Decimal(0)
OPEN_STATUSES = (OrderStatus.NEW, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
HEARTBEAT_GRACE = 3  # missed heartbeats before the engine counts as not running


def _dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None:
        return default
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    return d if d.is_finite() else default


def _money(value: Any) -> Decimal:
    d = _dec(value, ZERO)
    assert d is not None
    return d


class StoreBackedControl:
    """EngineControl for one tenant over a SQLAlchemy engine and an engine command bus."""

    def __init__(
        self,
        tenant_id: str,
        *,
        db: Engine,
        settings: Settings,
        bus: CommandBus,
        history: HistoryStore | None = None,
    ) -> None:
        self._tenant = tenant_id
        self._db = db
        self._settings = settings
        self._bus = bus
        self._history = history if history is not None else HistoryStore(settings.data.datadir)

    @property
    def tenant_id(self) -> str:
        return self._tenant

    async def _read(self, fn: Callable[[TenantSession], T]) -> T:
        def run() -> T:
            with tenant_scope(self._db, self._tenant) as ts:
                return fn(ts)

        return await run_in_threadpool(run)

    # ------------------------------------------------------------------ reads
    async def status(self) -> views.Status:
        return await self._read(self._status)

    def _status(self, ts: TenantSession) -> views.Status:
        st = cast(es.EngineStatusState, ts.load_state(es.ENGINE_NS, es.STATUS_KEY, {}) or {})
        marks = self._marks(ts)
        positions = ts.list_positions(status="open", limit=1000)
        curve = ts.equity_series(start_ms=now_ms() - 2 * DAY_MS)
        equity = curve[-1].equity if curve else ZERO
        day_start = now_ms() // DAY_MS * DAY_MS
        before_today = [p for p in curve if p.ts <= day_start]
        base = before_today[-1].equity if before_today else (curve[0].equity if curve else ZERO)
        closed = ts.list_positions(status="closed", limit=1000)
        hb = st.get("heartbeat_ms")
        interval = int(st.get("heartbeat_interval_ms", 10_000))
        running = hb is not None and now_ms() - int(hb) <= HEARTBEAT_GRACE * interval
        mode = st.get("mode", self._settings.mode)
        return views.Status(
            tenant_id=self._tenant,
            mode=mode if mode in ("backtest", "paper", "live") else self._settings.mode,
            running=running,
            entries_paused=bool(st.get("entries_paused", False)),
            kill_switch=bool(st.get("kill_switch", False)),
            quote_currency=str(st.get("quote_currency") or (curve[-1].currency if curve else "")),
            equity=equity,
            realized_pnl=sum((p.realized_pnl for p in closed), ZERO),
            unrealized_pnl=sum((self._upnl(p, marks) or ZERO for p in positions), ZERO),
            pnl_today=equity - base,
            open_positions=len(positions),
            open_orders=len(ts.list_orders(statuses=OPEN_STATUSES, limit=1000)),
            started_ms=st.get("started_ms"),
            heartbeat_ms=hb,
            ts=now_ms(),
        )

    def _marks(self, ts: TenantSession) -> dict[str, Decimal]:
        raw = ts.load_state(es.ENGINE_NS, es.MARKS_KEY, {}) or {}
        out: dict[str, Decimal] = {}
        if isinstance(raw, dict):
            for k, v in raw.items():
                d = _dec(v)
                if d is not None:
                    out[str(k)] = d
        return out

    @staticmethod
    def _upnl(p: PositionRow, marks: dict[str, Decimal]) -> Decimal | None:
        mark = marks.get(p.symbol)
        if mark is None:
            return None
        sign = 1 if p.side == "long" else -1
        return (mark - p.avg_entry) * p.amount * sign

    async def balances(self) -> list[views.Balance]:
        def read(ts: TenantSession) -> list[views.Balance]:
            raw = ts.load_state(es.ENGINE_NS, es.BALANCES_KEY, {}) or {}
            out = []
            for ccy, b in sorted(raw.items()) if isinstance(raw, dict) else []:
                if isinstance(b, dict):
                    out.append(
                        views.Balance(
                            currency=str(ccy),
                            total=_money(b.get("total")),
                            free=_money(b.get("free")),
                            used=_money(b.get("used")),
                        )
                    )
            return out

        return await self._read(read)

    async def positions(self) -> list[views.Position]:
        def read(ts: TenantSession) -> list[views.Position]:
            marks = self._marks(ts)
            return [self._position(p, marks) for p in ts.list_positions(status="open", limit=1000)]

        return await self._read(read)

    def _position(self, p: PositionRow, marks: dict[str, Decimal]) -> views.Position:
        side: Literal["long", "short"] = "short" if p.side == "short" else "long"
        return views.Position(
            symbol=p.symbol,
            side=side,
            amount=p.amount,
            entry_price=p.avg_entry,
            mark_price=marks.get(p.symbol),
            unrealized_pnl=self._upnl(p, marks),
            stop=p.stop,
            take=p.take,
            opened_ms=p.opened_ms,
        )

    async def orders(self, open_only: bool = True) -> list[views.OrderView]:
        def read(ts: TenantSession) -> list[views.OrderView]:
            rows = ts.list_orders(statuses=OPEN_STATUSES if open_only else None, limit=500)
            return [
                views.OrderView(
                    client_id=r.client_id,
                    symbol=r.symbol,
                    side="sell" if r.side == "sell" else "buy",
                    type=r.type,
                    purpose=r.purpose,
                    status=r.status,
                    amount=r.amount,
                    filled=r.filled,
                    price=r.price if r.price is not None else r.stop_price,
                    avg_price=r.avg_price,
                    created_ms=r.created_ms,
                    updated_ms=r.updated_ms,
                )
                for r in rows
            ]

        return await self._read(read)

    async def trades(self, limit: int = 200) -> list[views.Trade]:
        """Closed positions as round trips; exit price and fees from the closing fills."""

        def read(ts: TenantSession) -> list[views.Trade]:
            out = []
            for p in ts.list_positions(status="closed", limit=limit):
                exit_side = "sell" if p.side == "long" else "buy"
                closed = p.closed_ms if p.closed_ms is not None else p.updated_ms
                fills = [
                    f for f in ts.list_fills(symbol=p.symbol, limit=1000) if p.opened_ms <= f.ts <= closed
                ]
                exits = [f for f in fills if f.side == exit_side]
                qty = sum((f.amount for f in exits), ZERO)
                exit_price = sum((f.amount * f.price for f in exits), ZERO) / qty if qty else p.avg_entry
                out.append(
                    views.Trade(
                        trade_id=f"{p.symbol}@{p.opened_ms}",
                        symbol=p.symbol,
                        side="short" if p.side == "short" else "long",
                        amount=p.amount if p.amount else qty,
                        entry_price=p.avg_entry,
                        exit_price=exit_price,
                        pnl=p.realized_pnl,
                        fees=sum((f.fee for f in fills), ZERO),
                        opened_ms=p.opened_ms,
                        closed_ms=closed,
                    )
                )
            return out

        return await self._read(read)

    async def equity_curve(self, since_ms: int | None = None) -> list[views.EquityPoint]:
        def read(ts: TenantSession) -> list[views.EquityPoint]:
            return [views.EquityPoint(ts=p.ts, equity=p.equity) for p in ts.equity_series(start_ms=since_ms)]

        return await self._read(read)

    async def decisions(self, page: int = 1, page_size: int = 50) -> views.DecisionPage:
        def read(ts: TenantSession) -> views.DecisionPage:
            rows = ts.list_decisions(limit=page_size, offset=(page - 1) * page_size)
            return views.DecisionPage(
                items=[_decision(r) for r in rows],
                page=page,
                page_size=page_size,
                total=ts.count(DecisionRow),
            )

        return await self._read(read)

    async def strategy_metrics(self) -> list[views.StrategyMetric]:
        def read(ts: TenantSession) -> list[views.StrategyMetric]:
            raw = ts.load_state(es.ENGINE_NS, es.STRATEGIES_KEY, {}) or {}
            configured = [s.name for s in self._settings.strategies]
            names = (
                configured + sorted(k for k in raw if k not in configured)
                if isinstance(raw, dict)
                else configured
            )
            out = []
            for name in names:
                s = cast(es.StrategyState, raw.get(name, {}) if isinstance(raw, dict) else {})
                trades, wins = int(s.get("trades", 0)), int(s.get("wins", 0))
                out.append(
                    views.StrategyMetric(
                        strategy=name,
                        signals=int(s.get("signals", 0)),
                        trades=trades,
                        win_rate=wins / trades if trades else None,
                        pnl=_money(s.get("pnl")),
                        avg_runtime_ms=s.get("avg_runtime_ms"),
                        timeouts=int(s.get("timeouts", 0)),
                    )
                )
            return out

        return await self._read(read)

    async def risk_status(self) -> views.RiskStatus:
        return await self._read(self._risk)

    def _risk(self, ts: TenantSession) -> views.RiskStatus:
        st = cast(es.EngineStatusState, ts.load_state(es.ENGINE_NS, es.STATUS_KEY, {}) or {})
        limits = self._settings.risk.model_dump()
        override = ts.load_state(es.ENGINE_NS, es.RISK_LIMITS_KEY, {}) or {}
        if isinstance(override, dict):
            limits.update({k: v for k, v in override.items() if k in limits})
        lim = views.RiskLimits(
            risk_per_trade=_money(limits["risk_per_trade"]),
            max_open_positions=int(limits["max_open_positions"]),
            max_exposure_per_pair=_money(limits["max_exposure_per_pair"]),
            max_total_exposure=_money(limits["max_total_exposure"]),
            daily_loss_limit=_money(limits["daily_loss_limit"]),
            max_drawdown=_money(limits["max_drawdown"]),
        )
        marks = self._marks(ts)
        curve = ts.equity_series()
        equity = curve[-1].equity if curve else ZERO
        peak = max((p.equity for p in curve), default=ZERO)
        day_start = now_ms() // DAY_MS * DAY_MS
        before = [p for p in curve if p.ts <= day_start]
        base = before[-1].equity if before else (curve[0].equity if curve else ZERO)
        per_pair: dict[str, Decimal] = {}
        positions = ts.list_positions(status="open", limit=1000)
        for p in positions:
            price = marks.get(p.symbol, p.avg_entry)
            per_pair[p.symbol] = per_pair.get(p.symbol, ZERO) + (
                p.amount * price / equity if equity else ZERO
            )
        total = sum(per_pair.values(), ZERO)
        drawdown = (peak - equity) / peak if peak else ZERO
        daily = equity - base
        breaches = []
        if len(positions) > lim.max_open_positions:
            breaches.append(f"{len(positions)} open positions > max {lim.max_open_positions}")
        if total > lim.max_total_exposure:
            breaches.append(f"total exposure {total:.4f} > max {lim.max_total_exposure}")
        for sym, x in sorted(per_pair.items()):
            if x > lim.max_exposure_per_pair:
                breaches.append(f"{sym} exposure {x:.4f} > max {lim.max_exposure_per_pair}")
        if base and -daily / base > lim.daily_loss_limit:
            breaches.append(f"daily loss {-daily / base:.4f} > limit {lim.daily_loss_limit}")
        if drawdown > lim.max_drawdown:
            breaches.append(f"drawdown {drawdown:.4f} > max {lim.max_drawdown}")
        q = Decimal("0.000001")
        return views.RiskStatus(
            limits=lim,
            entries_paused=bool(st.get("entries_paused", False)),
            kill_switch=bool(st.get("kill_switch", False)),
            exposure_total=total.quantize(q),
            exposure_per_pair={k: v.quantize(q) for k, v in per_pair.items()},
            daily_pnl=daily,
            drawdown=drawdown.quantize(q),
            breaches=breaches,
        )

    async def config_redacted(self) -> dict[str, Any]:
        return redacted_config(self._settings)

    async def candles(self, symbol: str, timeframe: str, limit: int = 300) -> list[views.Candle]:
        pairs = set(self._settings.exchange.pairs)
        if symbol not in pairs:
            traded = await self._read(lambda ts: bool(ts.list_positions(symbol=symbol, limit=1)))
            if not traded:
                raise NotFound(f"{symbol} is not traded here")

        published = await self._read(lambda ts: ts.load_state(es.ENGINE_NS, es.candles_key(symbol)))
        rows = _published_rows(published, timeframe)
        if rows:  # the running session's closed candles: right in paper mode, where the store is not
            return [_candle(r) for r in rows[-limit:]] if limit > 0 else []

        def read() -> list[views.Candle]:
            kind = "futures" if ":" in symbol else "spot"
            try:
                ohlcv = self._history.read(self._settings.exchange.name, symbol, timeframe, kind=kind)
            except DataError:
                return []
            # never a candle that has not closed yet
            k = int(ohlcv.ts.searchsorted(now_ms() - timeframe_to_ms(timeframe), side="right"))
            tail = ohlcv.slice(max(0, k - limit), k)
            return [
                views.Candle(ts=c.ts, open=c.open, high=c.high, low=c.low, close=c.close, volume=c.volume)
                for c in (tail.candle(i) for i in range(len(tail)))
            ]

        return await run_in_threadpool(read)

    # ------------------------------------------------------------------ actions
    async def pause_entries(self, *, actor: str) -> CommandResult:
        return await self._bus.send(PauseEntries(tenant_id=self._tenant, requested_by=actor))

    async def resume_entries(self, *, actor: str) -> CommandResult:
        return await self._bus.send(ResumeEntries(tenant_id=self._tenant, requested_by=actor))

    async def close_position(self, symbol: str, *, actor: str) -> CommandResult:
        open_ = await self._read(lambda ts: bool(ts.list_positions(status="open", symbol=symbol, limit=1)))
        if not open_:
            raise NotFound(f"no open position in {symbol}")
        return await self._bus.send(ClosePosition(tenant_id=self._tenant, requested_by=actor, symbol=symbol))

    async def close_all(self, *, actor: str) -> CommandResult:
        return await self._bus.send(CloseAll(tenant_id=self._tenant, requested_by=actor))

    async def kill_switch(self, *, actor: str) -> CommandResult:
        return await self._bus.send(KillSwitch(tenant_id=self._tenant, requested_by=actor))

    async def update_risk_limits(self, *, actor: str, **limits: RiskLimitValue) -> CommandResult:
        items = tuple((cast(RiskLimitName, k), v) for k, v in sorted(limits.items()))
        return await self._bus.send(
            UpdateRiskLimits(tenant_id=self._tenant, requested_by=actor, limits=items)
        )


def _published_rows(value: Any, timeframe: str) -> list[list[Any]]:
    """The rows of an `engine/candles:<symbol>` value in `timeframe` closed at its clock ([] when
    absent, of another timeframe or malformed: the caller falls back to the history store)."""
    if not isinstance(value, dict) or value.get("timeframe") != timeframe:
        return []
    rows, clock = value.get("rows"), value.get("clock_ms")
    if not isinstance(rows, list) or not isinstance(clock, int):
        return []
    tf = timeframe_to_ms(timeframe)
    return [r for r in rows if isinstance(r, list) and len(r) == 6 and int(r[0]) + tf <= clock]


def _candle(r: list[Any]) -> views.Candle:
    return views.Candle(
        ts=int(r[0]),
        open=float(r[1]),
        high=float(r[2]),
        low=float(r[3]),
        close=float(r[4]),
        volume=float(r[5]),
    )


def _decision(r: DecisionRow) -> views.DecisionView:
    votes = []
    for v in r.votes or []:
        if isinstance(v, list | tuple) and len(v) >= 3:
            votes.append(views.Vote(strategy=str(v[0]), direction=int(v[1]), confidence=float(v[2])))
    return views.DecisionView(
        id=str(r.id),
        ts=r.ts,
        symbol=r.symbol,
        direction=max(-1, min(1, r.direction)),
        confidence=r.confidence,
        price=r.price,
        stop=r.stop,
        take=r.take,
        reasons=[str(x) for x in r.reasons or []],
        votes=votes,
        outcome=r.outcome,
    )
