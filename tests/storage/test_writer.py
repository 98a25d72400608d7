from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from storage_helpers import make_decision, make_order

from aitrader.core.orders import OrderStatus
from aitrader.metrics import REGISTRY
from aitrader.storage.db import make_engine
from aitrader.storage.records import MetricSample
from aitrader.storage.repository import TenantSession, tenant_scope
from aitrader.storage.schema import DecisionRow, MetricRow, OrderRow
from aitrader.storage.writer import StorageWriter, WriterClosed


def _decision_op(ts: int):  # type: ignore[no-untyped-def]
    def fn(s: TenantSession) -> None:
        s.add_decision(make_decision(ts))

    return fn


def _metric_op(ts: int):  # type: ignore[no-untyped-def]
    def fn(s: TenantSession) -> None:
        s.add_metric(MetricSample("load", ts, float(ts)))

    return fn


def _count(engine: Engine, model: type[DecisionRow] | type[MetricRow] | type[OrderRow]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


async def test_ten_thousand_writes_from_many_producers_land_exactly_once(migrated: Engine) -> None:
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=0.1, max_queue=500)
    writer.start()

    depths: list[float] = []

    async def producer(p: int) -> None:
        for i in range(500):
            await writer.put("t" if p % 2 else "u", _metric_op(p * 1000 + i))
            if i % 50 == 0:
                depths.append(REGISTRY.get_sample_value("aitrader_db_write_queue_depth") or 0.0)

    await asyncio.gather(*(producer(p) for p in range(20)))
    await writer.close()
    with migrated.connect() as conn:
        all_ts = conn.execute(select(MetricRow.ts)).scalars().all()
        per_tenant = dict(
            conn.execute(select(MetricRow.tenant_id, func.count()).group_by(MetricRow.tenant_id)).all()
        )
    assert per_tenant == {"t": 5_000, "u": 5_000}
    assert len(all_ts) == 10_000
    assert sorted(all_ts) == sorted(p * 1000 + i for p in range(20) for i in range(500))
    assert writer.stats.written == 10_000 and writer.stats.failed == 0
    assert writer.stats.batches <= 10_000 // 10  # it really batched
    assert writer.queue_depth == 0
    assert max(depths) > 50  # the gauge saw the backlog while producers outran the writer...
    assert REGISTRY.get_sample_value("aitrader_db_write_queue_depth") == 0  # ...and its end


async def test_close_drains_everything_and_then_refuses(migrated: Engine) -> None:
    committed: list[str] = []
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=5.0, on_commit=committed.extend)
    writer.start()
    for i in range(300):
        await writer.put("t", _decision_op(i), label=f"d{i}")
    assert writer.queue_depth == 300  # nothing ran yet: put() did not yield
    await writer.close()
    assert _count(migrated, DecisionRow) == 300
    assert sorted(committed) == sorted(f"d{i}" for i in range(300))
    with pytest.raises(WriterClosed):
        await writer.put("t", _decision_op(1))
    assert not writer.running


async def test_interval_flushes_a_small_batch_without_help(migrated: Engine) -> None:
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=0.05)
    writer.start()
    await writer.put("t", _decision_op(1))
    deadline = time.monotonic() + 5
    while _count(migrated, DecisionRow) == 0:
        assert time.monotonic() < deadline, "interval flush never happened"
        await asyncio.sleep(0.02)
    await writer.close()


async def test_flush_acknowledges_everything_before_it(migrated: Engine) -> None:
    writer = StorageWriter(migrated, max_batch=1000, max_delay_s=30.0)
    writer.start()
    for i in range(120):
        await writer.put("t", _decision_op(i))
    await writer.flush()  # without the barrier cutting the batch this would wait 30 s
    assert _count(migrated, DecisionRow) == 120
    await writer.close()


async def test_one_bad_row_loses_nothing_else(migrated: Engine) -> None:
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=0.05)
    writer.start()

    def bad(s: TenantSession) -> None:
        s.upsert_order(make_order("bad", amount="0.0000000000000000000001"))  # beyond money scale

    good = [asyncio.create_task(writer.write("t", _decision_op(i))) for i in range(10)]
    failing = asyncio.create_task(writer.write("t", bad, label="bad-order"))
    good += [asyncio.create_task(writer.write("t", _decision_op(100 + i))) for i in range(10)]
    await asyncio.gather(*good)
    with pytest.raises(Exception, match="decimal places"):
        await failing
    await writer.close()
    assert _count(migrated, DecisionRow) == 20
    assert _count(migrated, OrderRow) == 0
    assert writer.stats.failed == 1 and writer.stats.written == 20
    assert writer.stats.retried_batches >= 1 and writer.stats.row_by_row_batches >= 1
    assert writer.stats.failures == ["bad-order"]


async def test_same_order_upserted_twice_in_one_batch_keeps_the_last_state(migrated: Engine) -> None:
    """Deferred executemany must not put two upserts of one key in one INSERT (PostgreSQL refuses)."""
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=1.0, retries=0)
    writer.start()
    for i in range(5):
        order = make_order("same", amount="1", status=OrderStatus.PARTIALLY_FILLED, filled=Decimal(i) / 10)
        await writer.put("t", lambda s, o=order: s.upsert_order(o))
        await writer.put("t", lambda s, o=order: s.upsert_order(make_order(f"other{o.filled}")))
    await writer.flush()
    assert writer.stats.batches == 1 and writer.stats.failed == 0
    assert writer.stats.row_by_row_batches == 0
    with tenant_scope(migrated, "t") as ts:
        row = ts.get_order("same")
        assert row is not None and row.filled == Decimal("0.4")
        assert ts.count(OrderRow) == 6
    await writer.close()


async def test_write_waits_for_commit(migrated: Engine) -> None:
    writer = StorageWriter(migrated, max_batch=50, max_delay_s=0.05)
    writer.start()
    await writer.write("t", lambda s: s.upsert_order(make_order("c1", amount="2.5")))
    with tenant_scope(migrated, "t") as ts:  # a separate connection sees it: it is committed
        row = ts.get_order("c1")
        assert row is not None and row.amount == Decimal("2.5")
    await writer.close()


def test_kill_9_mid_writes_loses_nothing_acknowledged(migrated: Engine, db_url: str) -> None:
    child = Path(__file__).with_name("writer_crash_child.py")
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, str(child), db_url, "crash"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    acked: list[int] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while len(acked) < 600:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"child exited early: {proc.stderr.read() if proc.stderr else ''}")
            assert time.monotonic() < deadline
            acked.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
        acked += [int(x) for x in rest.split("\n")[:-1]]  # complete lines only
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    reopened = make_engine(db_url)
    try:
        with reopened.connect() as conn:
            if reopened.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            stored = set(conn.execute(select(MetricRow.ts).where(MetricRow.name == "crash")).scalars())
    finally:
        reopened.dispose()
    missing = set(acked) - stored
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {sorted(missing)[:5]}"
    assert len(stored) >= len(acked)


def test_metric_sample_written_by_writer_has_labels(migrated: Engine) -> None:
    async def go() -> None:
        w = StorageWriter(migrated)
        w.start()
        await w.write("t", lambda s: s.add_metric(MetricSample("q", 5, 2.0, {"k": "v"})))
        await w.close()

    asyncio.run(go())
    with tenant_scope(migrated, "t") as ts:
        assert [(m.value, m.labels) for m in ts.list_metrics("q")] == [(2.0, {"k": "v"})]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
async def test_batches_run_on_the_writers_own_thread_below_the_event_loops_priority(migrated: Engine) -> None:
    from aitrader.storage.writer import WRITER_NICE

    seen: list[tuple[str, int]] = []

    def probe(s: TenantSession) -> None:  # runs where the batch runs
        import threading

        me = threading.current_thread()
        seen.append((me.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        s.add_metric(MetricSample("load", 1, 1.0))

    writer = StorageWriter(migrated)
    writer.start()
    await writer.write("t", probe)
    await writer.close()
    [(name, nice)] = seen
    assert name.startswith("storage-writer")
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + WRITER_NICE)  # 19: the kernel's cap
    assert _count(migrated, MetricRow) == 1
