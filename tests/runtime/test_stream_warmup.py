"""A paper session started mid-replay: its decision streams are primed with the REST warm-up history
(so live decisions equal the backtest's over history + live candles), and the chart's candles are the
session's published closed ones - never the history store's candles from after the replay's now."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest
from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.api.control import CommandBus
from aitrader.api.store_control import StoreBackedControl
from aitrader.confluence import Confluence
from aitrader.core import engine_state as es
from aitrader.core.candles import OHLCV
from aitrader.data.resample import resample
from aitrader.data.store import HistoryStore
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade
from aitrader.storage.repository import tenant_scope
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator, Series

START = 350  # the replay starts with candles 0..349 closed: the warm-up history
LIVE = 50  # candles closed while the session streams


def _ohlcv(s: Series, lo: int, hi: int) -> OHLCV:
    rows = s.rows[lo:hi]
    return OHLCV.from_arrays(
        [r.ts for r in rows],
        [float(r.open) for r in rows],
        [float(r.high) for r in rows],
        [float(r.low) for r in rows],
        [float(r.close) for r in rows],
        [float(r.volume) for r in rows],
    )


async def test_streams_start_warm_and_the_chart_shows_the_sessions_closed_candles(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", START + LIVE + 20), series("XLM_BTC", START + LIVE + 20)]
    pairs = [s.symbol for s in feeds]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[START])
    await sim.start()
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    db = make_engine(url)
    upgrade(db)  # the API reads before the session has started
    # decisions are compared with the vectorised evaluation, which has no order book
    settings = settings_for(sim, pairs, url, confluence={"use_orderbook": False})
    # the history store under the exchange's name holds candles from after the replay's now
    history = HistoryStore(tmp_path / "datadir")
    for s in feeds:
        history.write("kraken", s.symbol, "5m", _ohlcv(s, 0, len(s.rows)))
    control = StoreBackedControl(
        "t1", db=db, settings=settings, bus=CommandBus(asyncio.Queue()), history=history
    )
    assert (await control.candles(pairs[0], "5m", 500))[-1].ts == feeds[0].ts[-1]  # nothing published yet
    markets = MarketRegistry.load("bittrex")
    session = Session(settings, db, SessionOptions(mode="paper", markets=markets, keep_decisions=True))
    async with running(session, sim):
        await eventually(lambda: "engine" in session.supervisor.names(), what="session start")
        # primed before any live candle: each stream has had the whole warm-up history
        assert session.decisions.fed == {s.symbol: s.ts[START - 1] for s in feeds}
        assert session.candles == 0 and session.decisions.evaluated == 0
        for k in range(1, LIVE + 1):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: session.candles >= 2 * k, what=f"candle {k}")  # type: ignore[misc]
        clock = session.engine.clock.now()
        assert clock == feeds[0].ts[START + LIVE]  # the last live candle's close

        async def chart_caught_up() -> bool:
            got = await control.candles(pairs[1], "5m", 500)
            return bool(got) and got[-1].ts == feeds[1].ts[START + LIVE - 1]

        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while not await chart_caught_up():  # published at most once a second
            assert loop.time() < end, "the chart never showed the last closed candle"
            await asyncio.sleep(0.05)
        for s in feeds:
            got = await control.candles(s.symbol, "5m", 500)
            assert len(got) == 300  # the newest 300 published of history + live; no forming/future one
            assert got[-1].ts == s.ts[START + LIVE - 1] and got[-1].ts + FIVE_MIN <= clock
            # exactly the replayed rows (the cache may have dropped an outlier: a subset, in order)
            by_ts = {r.ts: r for r in s.rows[: START + LIVE]}
            assert all(a.ts < b.ts for a, b in itertools.pairwise(got))
            assert all(c.ts in by_ts and c.close == float(by_ts[c.ts].close) for c in got)
            assert got[0].ts >= s.ts[START + LIVE - 320]
            row = s.rows[START + LIVE - 1]
            assert (got[-1].open, got[-1].close) == (float(row.open), float(row.close))
            assert len(await control.candles(s.symbol, "5m", 10)) == 10
        assert await control.candles(pairs[0], "1h", 5) == []  # another timeframe: the store's (none in 1h)
    with tenant_scope(db, "t1") as ts:
        value = ts.load_state(es.ENGINE_NS, es.candles_key(pairs[0]))
    assert value["timeframe"] == "5m" and len(value["rows"]) == 300  # the newest 300 only
    assert value["rows"][-1][0] + FIVE_MIN <= value["clock_ms"]

    # decisions on live bars equal evaluate over history + live (the candles the session held: its
    # cache drops outliers): the streams were primed with the warm-up history
    conf = Confluence.from_settings(settings)
    expected = []
    for s in feeds:
        c = session.feed.window(s.symbol, clock - FIVE_MIN)
        assert c.ts[0] == s.ts[0] and c.ts[-1] == s.ts[START + LIVE - 1] and len(c) >= START + LIVE - 20
        live = int(np.searchsorted(c.ts, s.ts[START]))
        frame = conf.evaluate(s.symbol, c, resample(c, "5m", "1h"), "1h", timeframe="5m")
        for i in np.flatnonzero(frame.direction[live:]) + live:
            d = frame.decision_at(int(i))
            expected.append((d.ts, d.symbol, d.direction, d.confidence, d.stop, d.take))
    made = sorted(
        (d.ts, d.symbol, d.direction, d.confidence, d.stop, d.take) for d in session.decisions.decisions or []
    )
    assert len(expected) >= 10
    assert [g[:3] for g in made] == [e[:3] for e in sorted(expected)]
    for g, e in zip(made, sorted(expected), strict=True):
        assert g[3:] == pytest.approx(e[3:], rel=1e-12, abs=0.0), (g, e)
    assert session.decisions.evaluated == 2 * LIVE  # warm-up bars were fed, not decided
