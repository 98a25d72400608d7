"""A session merges the closed candles it saw into the history store (data.record_history_ms and at
shutdown), under the exchange's name, without duplicating what was stored before."""

from __future__ import annotations

from pathlib import Path

from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.data.store import HistoryStore
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator


async def test_session_writes_its_closed_candles_to_the_history_store(tmp_path: Path) -> None:
    feed = series("ETH_BTC", 400)
    start = 300
    sim = KrakenSimulator([feed], start_ms=feed.ts[start])
    await sim.start()
    datadir = tmp_path / "data"
    store = HistoryStore(datadir)
    url = f"sqlite:///{tmp_path / 'h.db'}"
    data = {"datadir": str(datadir), "record_history_ms": 200}
    settings = settings_for(sim, [feed.symbol], url, data=data)
    opts = SessionOptions(mode="paper", markets=MarketRegistry.load("bittrex"))
    session = Session(settings, make_engine(url), opts)
    async with running(session, sim):
        await eventually(lambda: "history" in session.supervisor.names(), timeout=60, what="start")
        for k in range(1, 11):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: session.candles >= k, what=f"candle {k}")  # type: ignore[misc]
        def last_stored() -> int | None:
            got = store.info("kraken", feed.symbol, "5m")
            return None if got is None else got.last

        await eventually(lambda: last_stored() == feed.ts[start + 9], what="periodic write")
        sim.advance(FIVE_MIN)
        await eventually(lambda: session.candles >= 11, what="candle 11")
    # the warm-up history and every live candle, each once; the last one written at shutdown
    got = store.read("kraken", feed.symbol, "5m")
    assert got.ts[-1] == feed.ts[start + 10]
    assert len(set(got.ts.tolist())) == len(got)
    assert set(feed.ts[start - 100 : start + 11]) <= set(got.ts.tolist())
    assert session.history is not None and session.history.rows == len(got)
