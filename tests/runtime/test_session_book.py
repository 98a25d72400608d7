"""The streamed order book reaches live decisions: a paper session against the simulator (which
streams a top-N book per pair) decides each freshly closed candle with that book's imbalance and
spread as its microstructure row, and says so in the decision's reasons; with
`confluence.use_orderbook: false` no book is used."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator

N = 160


@pytest.mark.parametrize("use_book", [True, False])
async def test_live_decisions_use_the_streamed_book(tmp_path: Path, use_book: bool) -> None:
    feed = series("ETH_BTC", N)
    sim = KrakenSimulator([feed], start_ms=feed.ts[0])
    await sim.start()
    url = f"sqlite:///{tmp_path / 'b.db'}"
    conf = {"use_orderbook": use_book, "min_confidence": 0.0}
    settings = settings_for(sim, [feed.symbol], url, confluence=conf)
    opts = SessionOptions(mode="paper", markets=MarketRegistry.load("bittrex"), keep_decisions=True)
    session = Session(settings, make_engine(url), opts)
    async with running(session, sim):
        await eventually(lambda: "engine" in session.supervisor.names(), timeout=60, what="start")
        await eventually(lambda: feed.symbol in session.feed.books, what="a book")
        for k in range(1, N):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: session.candles >= k, what=f"candle {k}")  # type: ignore[misc]
    decisions = session.decisions.decisions or []
    assert len(decisions) > 5
    with_book = [d for d in decisions if any("order book imbalance" in r for r in d.reasons)]
    if use_book:
        assert session.decisions.with_book >= N // 2  # nearly every live candle had a fresh book
        assert with_book, "no decision mentions the order book"
    else:
        assert session.decisions.with_book == 0 and not with_book
