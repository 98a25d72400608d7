"""HistoricalFeed.last_close: the newest candle closed at the clock's now, whatever the feed remembers.

It answers from a cache until the next candle of the symbol closes, and from its delivery loop; both
must agree with a plain search over candles that have gaps (minutes no trade printed), for a clock
that jumps by any amount, asked at any moments, with or without candles being delivered."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from aitrader.core.candles import OHLCV
from aitrader.core.clock import SimulatedClock
from aitrader.engine.feed import HistoricalFeed
from aitrader.engine.interest import EVERY

TF = 60_000


def _candles(gaps: list[int], seed: int) -> OHLCV:
    ts = 1_700_000_000_000 + np.cumsum(np.asarray(gaps, dtype=np.int64)) * TF
    close = np.random.default_rng(seed).uniform(1, 2, len(ts))
    return OHLCV.from_arrays(ts, close, close + 0.1, close - 0.1, close, np.ones(len(ts)))


def _newest(c: OHLCV, now: int) -> tuple[int, float] | None:
    closed = np.flatnonzero(c.ts + TF <= now)
    return None if not len(closed) else (int(c.ts[closed[-1]]), float(c.close[closed[-1]]))


@given(
    gaps=st.lists(st.integers(1, 4), min_size=1, max_size=40),
    steps=st.lists(st.tuples(st.integers(0, 5 * TF), st.booleans()), min_size=1, max_size=60),
    seed=st.integers(0, 1000),
)
def test_last_close_matches_a_search_for_any_clock(
    gaps: list[int], steps: list[tuple[int, bool]], seed: int
) -> None:
    c = _candles(gaps, seed)
    clock = SimulatedClock(int(c.ts[0]) - TF)
    feed = HistoricalFeed({"A/B": c}, "1m", clock)
    for jump, ask in steps:
        clock.advance_to(clock.now() + jump)
        if ask:
            assert feed.last_close("A/B") == _newest(c, clock.now())
    assert feed.last_close("A/B") == _newest(c, clock.now())


@given(gaps_a=st.lists(st.integers(1, 3), min_size=1, max_size=30),
       gaps_b=st.lists(st.integers(1, 5), min_size=1, max_size=30))
def test_last_close_of_other_symbols_while_delivering(gaps_a: list[int], gaps_b: list[int]) -> None:
    """During the replay (every candle delivered), each symbol's answer is right at every event."""
    candles = {"A/B": _candles(gaps_a, 1), "C/D": _candles(gaps_b, 2)}
    clock = SimulatedClock(min(int(c.ts[0]) for c in candles.values()))
    feed = HistoricalFeed(candles, "1m", clock, skip=False)
    seen = 0
    for ev in feed.events():
        seen += 1
        assert feed.last_close(ev.symbol) == (ev.candle.ts, ev.candle.close)
        for s, c in candles.items():
            assert feed.last_close(s) == _newest(c, clock.now())
        for s in candles:
            feed.set_interest(s, EVERY)
    assert seen == sum(len(c) for c in candles.values())


def test_candles_of_other_dtypes_read_like_ohlcv_candle() -> None:
    """Columns that are not contiguous native int64 / float64 (float32, big-endian, strided views) are
    delivered with the values `OHLCV.candle` gives."""
    base = _candles([1, 2, 1, 1, 3, 1], 7)
    odd = OHLCV(
        base.ts.astype(">i8"),
        base.open.astype(np.float32),
        base.high.astype(">f8"),
        np.repeat(base.low, 2)[::2],
        base.close,
        base.volume.astype(np.float32),
    )
    clock = SimulatedClock(int(base.ts[0]))
    feed = HistoricalFeed({"A/B": odd}, "1m", clock, skip=False)
    got = []
    for ev in feed.events():
        got.append(ev.candle)
        feed.set_interest("A/B", EVERY)
    assert got == [odd.candle(i) for i in range(len(odd))]
    assert all(type(c.ts) is int and type(c.open) is float for c in got)
