"""End to end with faults: a paper session against the simulator while it drops, duplicates and reorders
WebSocket messages and answers REST with 429/5xx. The session runs a bounded number of candles (plus
control commands) and ends with no duplicate orders, balanced books in memory and in storage, and local
state equal to the venue's (for paper: the SimulatedVenue account that fills the orders)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path

from runtime_helpers import FIVE_MIN, eventually, series, settings_for

from aitrader.core.commands import ClosePosition, PauseEntries, PendingCommand, ResumeEntries
from aitrader.data.cache import Outcome
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.storage.repository import MAX_PAGE, tenant_scope
from aitrader.venues.simulated import SimulatedVenue
from aitrader.venues.simulator import FaultSpec, KrakenSimulator

FAULTS = "drop_ws=0.01,duplicate_ws=0.1,reorder_ws=0.01,http_429=0.1,http_5xx=0.05,delay_ms=2,seed=11"


async def _command(session: Session, cmd: object) -> bool:
    fut = asyncio.get_running_loop().create_future()
    await session.commands.put(PendingCommand(cmd, fut))  # type: ignore[arg-type]
    return bool((await asyncio.wait_for(fut, 10)).ok)


async def test_paper_session_under_faults_ends_consistent(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 700), series("XLM_BTC", 700)]
    symbols = [s.symbol for s in feeds]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[300], faults=FaultSpec.parse(FAULTS))
    await sim.start()
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    db = make_engine(url)
    settings = settings_for(sim, symbols, url, risk={"max_exposure_per_pair": "0.5"})
    session = Session(settings, db, SessionOptions(mode="paper", heartbeat_ms=200, max_lag_s=0.5, warmup=200))
    task = asyncio.create_task(session.run(install_signals=False))
    commands: list[bool] = []
    try:
        await eventually(lambda: "engine" in session.supervisor.names(), timeout=60, what="start")
        for step in range(70):
            seen = session.candles
            sim.advance(FIVE_MIN)
            loop = asyncio.get_running_loop()
            end = loop.time() + 0.6
            while session.candles < seen + 2 and loop.time() < end:
                await asyncio.sleep(0.005)
            if step == 25:
                commands.append(await _command(session, PauseEntries(tenant_id="t1", requested_by="test")))
            if step == 40:
                commands.append(await _command(session, ResumeEntries(tenant_id="t1", requested_by="test")))
            if step == 60 and session.engine.om.positions():
                sym = sorted(session.engine.om.positions())[0]
                commands.append(
                    await _command(session, ClosePosition(tenant_id="t1", requested_by="t", symbol=sym))
                )
        await asyncio.sleep(0.3)
        session.supervisor.request_stop("test done")
        result = await asyncio.wait_for(task, 60)
    finally:
        if not task.done():
            task.cancel()
        await sim.stop()

    eng, venue = session.engine, session.venue
    assert isinstance(venue, SimulatedVenue)
    # the faults happened and were survived
    streams = session.feed.streams
    assert streams is not None and streams.reconnects >= 1  # dropped sockets, resubscribed
    assert session.supervisor.state("market-data").restarts == 0  # the connection healed itself
    counts = session.feed.cache.counts
    assert counts[Outcome.DUPLICATE] + counts[Outcome.OLD] > 0
    assert result.candles >= 2 * 55 and all(commands) and len(commands) >= 2
    orders = eng.om.orders()
    assert len(orders) >= 6 and result.fills >= 3

    # no duplicate orders: every order reached the venue once, one entry per symbol and decision
    assert not any("duplicate client_id" in o.reason for o in orders)
    assert all(venue.order(o.request.client_id) is not None for o in orders)
    entries = Counter(
        (o.request.symbol, o.request.created_ms) for o in orders if o.request.purpose.value == "entry"
    )
    assert max(entries.values()) == 1

    # local state equals the venue's
    assert eng.ledger.balances() == venue.balances()
    assert {o.request.client_id for o in eng.om.open_orders()} == {
        o.request.client_id for o in venue.open_orders()
    }
    local = {s: p.amount for s, p in eng.om.positions().items()}
    remote = {s: p.amount for s, p in venue.ledger.positions().items()}
    assert local == remote
    for o in orders:
        v = venue.order(o.request.client_id)
        assert v is not None and (v.status, v.filled) == (o.status, o.filled)

    # books balanced: in memory exactly, in storage to its 18 decimal places
    sums: dict[str, Decimal] = {}
    for e in eng.ledger.entries:
        sums[e.currency] = sums.get(e.currency, Decimal(0)) + e.delta
    assert {c: v for c, v in sums.items() if v} == {c: v for c, v in eng.ledger.balances().items() if v}
    with tenant_scope(db, "t1") as ts:
        stored = ts.list_ledger(limit=MAX_PAGE)
        stored_fills = ts.list_fills(limit=MAX_PAGE)
        stored_orders = ts.list_orders(limit=MAX_PAGE)
        engine_ns = ts.load_namespace("engine")
    assert len(stored) == len(eng.ledger.entries)
    assert len(stored_fills) == result.fills and len(stored_orders) == len(orders)
    tasks = engine_ns["tasks"]  # the supervisor's health, published for operators
    assert {"market-data", "engine", "venue", "state", "commands"} <= set(tasks)
    market = engine_ns["market_data"]  # the connection, published likewise
    assert market["reconnects"] >= 1 and market["state"] in ("streaming", "subscribed", "closed")
    ssum: dict[str, Decimal] = {}
    for row in stored:
        ssum[row.currency] = ssum.get(row.currency, Decimal(0)) + row.amount
    for ccy, bal in eng.ledger.balances().items():
        assert abs(ssum.get(ccy, Decimal(0)) - bal) <= Decimal("1e-15")
