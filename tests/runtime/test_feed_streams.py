"""LiveFeed's ticker and book channels: resends dropped and counted, staleness touched per stream, a
silent book blocks entries on its own (per-stream threshold), and `data` config validates them."""

from __future__ import annotations

import pytest

from aitrader.config import load_settings
from aitrader.core.errors import ConfigError
from aitrader.data.cache import CandleCache
from aitrader.data.live.staleness import StalenessTracker
from aitrader.runtime.clock import MarketClock
from aitrader.runtime.feed import LiveFeed
from aitrader.venues.ccxt_factory import make_exchange

SYM = "ETH/BTC"


def _book(bid: float, ask: float, nonce: int | None = None) -> dict[str, object]:
    return {"bids": [[bid, 1.0], [bid - 1e-5, 2.0]], "asks": [[ask, 1.5]], "timestamp": 1, "nonce": nonce}


async def test_resent_ticker_and_book_are_dropped_and_streams_touched() -> None:
    ex = make_exchange("kraken", "http://127.0.0.1:9", "ws://127.0.0.1:9", pro=True)
    try:
        feed = LiveFeed(ex, [SYM], "5m", CandleCache("5m", ()), MarketClock(0))
        feed.staleness = tracker = StalenessTracker(60_000, {"book": 1_000})
        sup = feed.subscribe(book_limit=1)
        assert feed.subscribe() is sup  # idempotent: one connection, channels registered once
        assert sorted(sup.channels) == [f"ohlcv:{SYM}:5m", f"orderbook:{SYM}:1", f"ticker:{SYM}"]

        ticks: list[tuple[str, float, int]] = []
        feed.on_tick = lambda *a: ticks.append(a)  # a live venue's stop check
        ticker = {"symbol": SYM, "timestamp": 5, "bid": 0.05, "ask": 0.051, "last": 0.05, "baseVolume": 3}
        feed._on_ticker(SYM, ticker)
        feed._on_ticker(SYM, dict(ticker))  # resent after a reconnect
        assert ticks == [(SYM, 0.05, 5)]  # the fresh one only, with its exchange time
        feed._on_book(SYM, _book(0.05, 0.051))
        feed._on_book(SYM, _book(0.05, 0.051))
        feed._on_book(SYM, _book(0.0501, 0.051))
        assert feed.duplicates == {"ticker": 1, "orderbook": 1}
        assert feed.books[SYM]["bids"] == [[0.0501, 1.0]]  # top `book_limit` levels only
        assert feed.tickers[SYM]["last"] == 0.05
        t_book = tracker.last_update(SYM, "book")
        assert t_book is not None and tracker.last_update(SYM, "ticker") is not None

        for stream in ("ohlcv", "ticker", "book"):
            tracker.expect(SYM, stream, t_book)
        tracker.touch(SYM, "ohlcv", t_book + 1_500)
        tracker.touch(SYM, "ticker", t_book + 1_500)
        # candles and ticker fresh, the book silent for 1.5 s > its 1 s threshold: entries blocked
        assert tracker.stale_streams(SYM, t_book + 1_500) == ("book",)
        status = feed.stream_status()  # not streaming yet: no live subscription counted
        assert (status["state"], status["subscriptions"]) == ("idle", {})
        assert status["duplicates"] == {"orderbook": 1, "ticker": 1} and status["stale"] == {}
    finally:
        await ex.close()


def test_per_stream_thresholds_are_validated() -> None:
    ok = load_settings(None, data={"stale_after_ms_per_stream": {"book": 30_000}})
    assert ok.data.stale_after_ms_per_stream == {"book": 30_000}
    with pytest.raises(ConfigError, match="unknown streams"):
        load_settings(None, data={"stale_after_ms_per_stream": {"trades": 1}})
    with pytest.raises(ConfigError, match="positive"):
        load_settings(None, data={"stale_after_ms_per_stream": {"book": 0}})
