from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from storage_helpers import make_decision, make_fill, make_order

from aitrader.core.orders import OrderStatus
from aitrader.core.time import DAY_MS
from aitrader.storage.db import make_engine
from aitrader.storage.records import EquityPoint, LedgerEntry, MetricSample, PositionRecord
from aitrader.storage.repository import (
    TenantSession,
    allocate_nonce,
    decision_from_row,
    fill_from_row,
    order_from_row,
    tenant_scope,
)
from aitrader.storage.schema import FillRow, LedgerEntryRow, OrderRow


def _position(symbol: str = "BTC/USDT", opened: int = 1_000) -> PositionRecord:
    return PositionRecord(
        symbol=symbol,
        side="long",
        amount=Decimal("0.25"),
        avg_entry=Decimal("41000.1"),
        opened_ms=opened,
        updated_ms=opened,
        stop=Decimal("40000"),
        trailing_level=Decimal("40500.5"),
        trailing_state={"armed": True, "high": "41999.9"},
    )


def test_tenant_b_cannot_read_tenant_a_rows_by_id(migrated: Engine) -> None:
    with tenant_scope(migrated, "A", create_tenant=True) as a:
        a.upsert_order(make_order("shared-id"))
        pos_id = a.upsert_position(_position())
        dec_id = a.add_decision(make_decision(5_000))
        a.insert_fill(make_fill("f1", "shared-id"))
        a.save_state("trailing", "BTC/USDT", {"level": "1"})
        order_row = a.get_order("shared-id")
        assert order_row is not None
        order_id = order_row.id
    with tenant_scope(migrated, "B", create_tenant=True) as b:
        assert b.get_order("shared-id") is None
        assert b.get_order_by_id(order_id) is None
        assert b.get_position(pos_id) is None
        assert b.get_decision(dec_id) is None
        assert b.list_orders() == [] and b.list_fills() == [] and b.list_positions() == []
        assert b.list_decisions() == []
        assert b.load_state("trailing", "BTC/USDT") is None
        assert b.count(OrderRow) == 0
        # B may use the same client id; it gets its own row and does not touch A's
        b.upsert_order(make_order("shared-id", amount="9"))
        assert b.insert_fill(make_fill("f1", "shared-id")) is True
        assert b.delete_state("trailing", "BTC/USDT") is False
        assert b.cleanup(1, now=10**13) == {"decisions": 0, "metrics": 0, "equity_snapshots": 0}
    with tenant_scope(migrated, "A") as a:
        row = a.get_order("shared-id")
        assert row is not None and row.amount == Decimal("1.5")
        assert a.get_position(pos_id) is not None
        assert a.get_decision(dec_id) is not None
        assert a.load_state("trailing", "BTC/USDT") == {"level": "1"}
        assert a.count(FillRow) == 1


def test_rows_need_an_existing_tenant(migrated: Engine) -> None:
    """Foreign keys are enforced (on SQLite too: PRAGMA foreign_keys=ON)."""
    with pytest.raises(IntegrityError), tenant_scope(migrated, "ghost") as g:
        g.upsert_order(make_order("x"))


def test_upsert_order_updates_in_place_and_round_trips(migrated: Engine) -> None:
    order = make_order("c1", created_ms=1_000)
    order.request.expire_ms = 1_601_000  # a good-till-date entry
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        ts.upsert_order(order)
        order.status = OrderStatus.PARTIALLY_FILLED
        order.venue_id = "V-77"
        order.filled = Decimal("0.5")
        order.avg_price = Decimal("42000.5")
        order.fees = Decimal("0.000021")
        order.updated_ms = 3_000
        order.request.created_ms = 9_999  # a later write must not move created_ms
        ts.upsert_order(order)
    with tenant_scope(migrated, "t") as ts:
        assert ts.count(OrderRow) == 1
        row = ts.get_order("c1")
        assert row is not None
        back = order_from_row(row)
    assert back.status is OrderStatus.PARTIALLY_FILLED
    assert back.venue_id == "V-77" and back.filled == Decimal("0.5") and back.fees == Decimal("0.000021")
    assert back.updated_ms == 3_000 and back.request.created_ms == 1_000
    assert back.request.price == Decimal("42000.12345678")
    assert back.remaining == Decimal("1.0") and back.request.expire_ms == 1_601_000


def test_fill_is_written_once(migrated: Engine) -> None:
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        assert ts.insert_fill(make_fill("F-1")) is True
        assert ts.insert_fill(make_fill("F-1")) is False
    with tenant_scope(migrated, "t") as ts:
        assert ts.insert_fill(make_fill("F-1", amount="7")) is False
        rows = ts.list_fills()
    assert len(rows) == 1
    assert fill_from_row(rows[0]) == make_fill("F-1")


def test_lists_are_newest_first_and_paged(migrated: Engine) -> None:
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        for i in range(25):
            ts.upsert_order(make_order(f"o{i:02d}", created_ms=1_000 + i))
            ts.insert_fill(make_fill(f"f{i:02d}", ts=5_000 + i))
            ts.add_decision(make_decision(9_000 + i, symbol="ETH/USDT" if i % 2 else "BTC/USDT"))
    with tenant_scope(migrated, "t") as ts:
        page1 = [r.client_id for r in ts.list_orders(limit=10)]
        page3 = [r.client_id for r in ts.list_orders(limit=10, offset=20)]
        assert page1 == [f"o{i:02d}" for i in range(24, 14, -1)]
        assert page3 == [f"o{i:02d}" for i in range(4, -1, -1)]
        assert [r.fill_id for r in ts.list_fills(limit=2)] == ["f24", "f23"]
        eth = ts.list_decisions(symbol="ETH/USDT", limit=3)
        assert [d.ts for d in eth] == [9_023, 9_021, 9_019]
        assert decision_from_row(eth[0]) == make_decision(9_023, "ETH/USDT")
        assert len(ts.list_decisions(since_ms=9_020)) == 5


def test_positions_upsert_and_filter(migrated: Engine) -> None:
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        pid = ts.upsert_position(_position())
        p = _position()
        p.status, p.closed_ms, p.realized_pnl, p.updated_ms = "closed", 9_000, Decimal("-12.75"), 9_000
        assert ts.upsert_position(p) == pid
        ts.upsert_position(_position("ETH/USDT", 2_000))
    with tenant_scope(migrated, "t") as ts:
        closed = ts.list_positions(status="closed")
        assert [(r.id, r.realized_pnl, r.closed_ms) for r in closed] == [(pid, Decimal("-12.75"), 9_000)]
        assert closed[0].trailing_state == {"armed": True, "high": "41999.9"}
        assert [r.symbol for r in ts.list_positions(status="open")] == ["ETH/USDT"]


def test_ledger_equity_metrics_state_audit(migrated: Engine) -> None:
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        e = LedgerEntry("fill:F-1:fee", 2_000, "fees", "USDT", Decimal("-0.000021"), "fee", ref="F-1")
        assert ts.add_ledger_entry(e) is True and ts.add_ledger_entry(e) is False
        for i in range(5):
            ts.add_equity(EquityPoint(1_000 * i, Decimal("10000") + i, Decimal("9000"), "USDT"))
        ts.add_equity(EquityPoint(2_000, Decimal("5"), Decimal("5"), "USDT"))  # replaces ts 2000
        ts.add_metric(MetricSample("writer_queue_depth", 1_000, 3.0, {"mode": "paper"}))
        ts.save_state("engine", "last_candle", {"BTC/USDT": 123})
        ts.save_state("engine", "last_candle", {"BTC/USDT": 456})
        ts.audit("kill_switch", {"on": True}, "ok", key_id=7, actor="api", ts_ms=50)
        ts.audit("pause", {}, "denied: scope read", ts_ms=60)
    with tenant_scope(migrated, "t") as ts:
        assert ts.count(LedgerEntryRow) == 1
        assert ts.list_ledger()[0].amount == Decimal("-0.000021")
        series = ts.equity_series(start_ms=1_000, end_ms=4_000)
        assert [(p.ts, p.equity) for p in series] == [
            (1_000, Decimal("10001")),
            (2_000, Decimal("5")),
            (3_000, Decimal("10003")),
        ]
        assert ts.list_metrics("writer_queue_depth")[0].labels == {"mode": "paper"}
        assert ts.load_state("engine", "last_candle") == {"BTC/USDT": 456}
        assert ts.load_namespace("engine") == {"last_candle": {"BTC/USDT": 456}}
        audit = ts.list_audit()
        assert [(a.action, a.result, a.key_id) for a in audit] == [
            ("pause", "denied: scope read", None),
            ("kill_switch", "ok", 7),
        ]
        assert ts.list_audit(action="kill_switch")[0].params == {"on": True}
        assert [a.action for a in ts.list_audit(before_id=audit[0].id)] == ["kill_switch"]


def test_retention_deletes_only_old_telemetry(migrated: Engine) -> None:
    now = 100 * DAY_MS
    old, new = now - 31 * DAY_MS, now - 29 * DAY_MS
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        for when in (old, new):
            ts.add_decision(make_decision(when))
            ts.add_metric(MetricSample("m", when, 1.0))
            ts.add_equity(EquityPoint(when, Decimal(1), Decimal(1), "USDT"))
            ts.upsert_order(make_order(f"o{when}", created_ms=when))
            ts.insert_fill(make_fill(f"f{when}", ts=when))
            ts.add_ledger_entry(LedgerEntry(f"l{when}", when, "cash", "USDT", Decimal(1), "deposit"))
    with tenant_scope(migrated, "other", create_tenant=True) as other:
        other.add_decision(make_decision(old))
    with tenant_scope(migrated, "t", write=True) as ts:
        assert ts.cleanup(30, now=now) == {"decisions": 1, "metrics": 1, "equity_snapshots": 1}
    with tenant_scope(migrated, "t") as ts:
        assert [d.ts for d in ts.list_decisions()] == [new]
        assert [m.ts for m in ts.list_metrics("m")] == [new]
        assert [p.ts for p in ts.equity_series()] == [new]
        assert len(ts.list_orders()) == 2 and len(ts.list_fills()) == 2 and len(ts.list_ledger()) == 2
    with tenant_scope(migrated, "other") as other:
        assert len(other.list_decisions()) == 1


def test_nonce_monotonic_persisted_and_floored(migrated: Engine, db_url: str) -> None:
    with tenant_scope(migrated, "t", create_tenant=True):
        pass
    assert [allocate_nonce(migrated, "t", "kraken", "k1") for _ in range(3)] == [1, 2, 3]
    assert allocate_nonce(migrated, "t", "kraken", "k2") == 1  # per key
    assert allocate_nonce(migrated, "t", "kraken", "k1", floor=1_000) == 1_000
    assert allocate_nonce(migrated, "t", "kraken", "k1", floor=10) == 1_001  # never goes back
    reopened = make_engine(db_url)
    try:
        assert allocate_nonce(reopened, "t", "kraken", "k1") == 1_002
    finally:
        reopened.dispose()


def test_nonce_is_unique_under_concurrent_callers(migrated: Engine) -> None:
    with tenant_scope(migrated, "t", create_tenant=True):
        pass
    per_thread: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            per_thread[n] = [allocate_nonce(migrated, "t", "binance") for _ in range(25)]
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    everything = [v for vals in per_thread.values() for v in vals]
    assert sorted(everything) == list(range(1, 151))
    for vals in per_thread.values():
        assert vals == sorted(vals) and len(set(vals)) == len(vals)


def test_invalid_tenant_and_page_are_refused(migrated: Engine) -> None:
    from aitrader.core.errors import AitraderError

    with pytest.raises(AitraderError, match="invalid tenant"), tenant_scope(migrated, ""):
        pass
    with pytest.raises(AitraderError, match="invalid page"), tenant_scope(migrated, "t") as ts:
        ts.list_orders(limit=0)


def test_deferred_writes_split_repeated_keys_and_flush_before_reads(migrated: Engine) -> None:
    from aitrader.storage.repository import _PENDING, flush_writes, session_factory

    with session_factory(migrated)() as session:
        TenantSession(session, "t").ensure_tenant()
        ts = TenantSession(session, "t", defer_writes=True)
        ts.upsert_order(make_order("a"))
        ts.upsert_order(make_order("b"))
        assert len(session.info[_PENDING].params) == 2  # one executemany so far, nothing sent
        ts.upsert_order(make_order("a", amount="3"))  # same key again: the first group is sent
        assert len(session.info[_PENDING].params) == 1
        assert ts.get_order("a") is not None  # a read flushes first
        assert _PENDING not in session.info
        row = ts.get_order("a")
        assert row is not None and row.amount == Decimal("3")
        ts.add_metric(MetricSample("m", 1, 1.0))
        flush_writes(session)
        session.commit()
    with tenant_scope(migrated, "t") as t:
        assert t.count(OrderRow) == 2 and len(t.list_metrics("m")) == 1
