"""Limit entries in a live session (`execution.entry_order: limit`): CcxtVenue sends resting limit
buys to the loopback Kraken simulator; the engine cancels those that time out and replaces them only
after the exchange confirmed the cancel. Ends with every exchange order ours and created once, our
fills equal to the exchange's, and each replacement following a cancelled, unfilled entry."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from runtime_helpers import (
    FIVE_MIN,
    eventually,
    replay_live,
    resting_limit_entries,
    running,
    series,
    settings_for,
)

from aitrader.core.orders import OrderPurpose, OrderStatus, OrderType
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.simulator import FaultSpec, KrakenSimulator


async def test_live_limit_entries_time_out_and_are_replaced_once_cancelled(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 700), series("XLM_BTC", 700)]
    symbols = [s.symbol for s in feeds]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[300], faults=FaultSpec.parse("partial=0.3,seed=3"))
    await sim.start()
    acc = sim.add_account({"BTC": "1"})
    url = f"sqlite:///{tmp_path / 'live.db'}"
    execution = {"entry_order": "limit", "entry_limit_offset_bps": "60", "limit_entry_timeout_ms": FIVE_MIN}
    # 60 bps below the close: some entries fill, others wait a candle, time out and are re-priced
    settings = settings_for(sim, symbols, url, risk={"max_exposure_per_pair": "0.5"}, execution=execution)
    settings.exchange.rate_limit_ms = 5
    opts = SessionOptions(mode="live", exchange_keys=(acc.api_key, acc.secret), max_lag_s=1.0)
    session = Session(settings, make_engine(url), opts)
    task = asyncio.create_task(session.run(install_signals=False))
    try:
        # a pause per candle: pump ticks, where cancels confirmed between candles are replaced
        await replay_live(session, sim, acc.api_key, candles=150, pairs=2, pause_s=0.3)
        session.supervisor.request_stop("test done")
        await asyncio.wait_for(task, 60)
    finally:
        if not task.done():
            task.cancel()
        await sim.stop()

    eng = session.engine
    mine = {o.request.client_id: o for o in eng.om.orders()}
    entries = [o for o in mine.values() if o.request.purpose is OrderPurpose.ENTRY]
    assert entries and all(o.request.type is OrderType.LIMIT for o in entries)
    remote = [o for o in sim.engine.orders.values() if o.api_key == acc.api_key]
    per_id = Counter(str(o.cl_ord_id) for o in remote)
    assert max(per_id.values()) == 1 and set(per_id) <= set(mine)
    assert all(mine[str(o.cl_ord_id)].filled == o.vol_exec for o in remote)
    assert eng.replacer is not None and eng.replacer.replaced, "no entry timed out and was replaced"
    for old, new in eng.replacer.replaced.items():
        was, now = mine[old], mine[new]
        assert was.status is OrderStatus.CANCELLED and was.filled == 0
        assert now.request.amount == was.request.amount and now.request.created_ms >= was.updated_ms
    assert any(o.filled > 0 for o in entries)
    # what each entry bought is protected by a stop on the exchange (or already closed by an exit)
    assert any(o.request.purpose is OrderPurpose.STOP_LOSS for o in mine.values())


async def test_live_timeout_shorter_than_a_candle_ends_between_candles(tmp_path: Path) -> None:
    """Live time runs on between closes (`runtime.clock.LiveClock`): a 2 s timeout on 5 m candles
    cancels and replaces the entry while the exchange prints no new candle."""
    rig = await resting_limit_entries(tmp_path, timeout_ms=2_000, max_replaces=1)
    sim = rig.sim
    session = Session(rig.settings, make_engine(rig.url), rig.opts)
    async with running(session, sim):
        await eventually(lambda: "engine" in session.supervisor.names(), timeout=60, what="start")
        entry = None
        for _ in range(500):
            seen = session.candles
            sim.advance(FIVE_MIN)
            await eventually(lambda s=seen: session.candles > s, what="the candle")  # type: ignore[misc]
            limits = [o for o in session.engine.om.open_orders() if o.request.type is OrderType.LIMIT]
            entry = limits[0] if limits else None
            if entry is not None:
                break
        assert entry is not None, "no limit entry"
        printed = sim.clock.now()
        rep = session.engine.replacer
        assert rep is not None
        cid = entry.request.client_id
        await eventually(lambda: cid in rep.replaced, timeout=10, what="timed out and replaced")
        assert entry.status is OrderStatus.CANCELLED and sim.clock.now() == printed  # no candle passed
        new = session.engine.om.order(rep.replaced[cid])
        assert new.request.created_ms - entry.request.created_ms >= 2_000
