from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from storage_helpers import make_decision

from aitrader.core.clock import SimulatedClock
from aitrader.storage.repository import tenant_scope
from aitrader.storage.thoughts import Thought, ThoughtsLimiter
from aitrader.storage.writer import StorageWriter


def test_rate_per_symbol_with_burst_and_refill() -> None:
    clock = SimulatedClock(1_000)
    lim = ThoughtsLimiter(per_second=2, burst=2, capacity=100, clock=clock)
    btc = [lim.offer(Thought("t", make_decision(i, "BTC/USDT"))) for i in range(5)]
    eth = [lim.offer(Thought("t", make_decision(i, "ETH/USDT"))) for i in range(3)]
    assert btc == [True, True, False, False, False]
    assert eth == [True, True, False]  # each symbol has its own budget
    clock.advance_to(1_500)  # half a second refills one token at 2/s
    assert lim.offer(Thought("t", make_decision(9, "BTC/USDT"))) is True
    assert lim.offer(Thought("t", make_decision(10, "BTC/USDT"))) is False
    assert lim.dropped[("BTC/USDT", "rate")] == 4 and lim.dropped[("ETH/USDT", "rate")] == 1
    assert lim.admitted == 5 and lim.buffered == 5


def test_buffer_is_bounded_and_overflow_counted() -> None:
    clock = SimulatedClock(0)
    lim = ThoughtsLimiter(per_second=1000, burst=1000, capacity=3, clock=clock)
    results = [lim.offer(Thought("t", make_decision(i, f"S{i}/USDT"))) for i in range(5)]
    assert results == [True, True, True, False, False]
    assert lim.dropped_total == 2 and lim.dropped[("S4/USDT", "buffer_full")] == 1
    assert [t.decision.ts for t in lim.drain(2)] == [0, 1]
    assert lim.offer(Thought("t", make_decision(7, "S7/USDT"))) is True  # room again


async def test_forward_persists_admitted_thoughts(migrated: Engine) -> None:
    clock = SimulatedClock(0)
    lim = ThoughtsLimiter(per_second=3, burst=3, clock=clock)
    writer = StorageWriter(migrated, max_delay_s=0.01)
    writer.start()
    task = asyncio.create_task(lim.forward(writer, interval_s=0.01))
    for i in range(10):
        lim.offer(Thought("t", make_decision(i), model_version="m1", model_probability=0.61, outcome="gated"))
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await writer.close()
    with tenant_scope(migrated, "t") as ts:
        rows = ts.list_decisions()
    assert sorted(r.ts for r in rows) == [0, 1, 2]
    assert {(r.model_version, r.model_probability, r.outcome) for r in rows} == {("m1", 0.61, "gated")}
    assert lim.dropped_total == 7
