"""MarketClock: "now" for a paper/live engine is the venue's time, moved forward by the data feed.

Why not the host's wall clock: the engine stamps orders with `now` and the simulated venue lets an
order take part only in candles that open at or after that stamp (nothing sees the future). When
the feed hands over the candle that closed at T, the engine acts at exactly T, so a market order
fills at the next candle's open - the same rule and the same timestamps as in a backtest, where the
historical feed advances a `SimulatedClock` to each close. Against a real exchange T is the wall
time of the close (give or take the stream's latency); against our replay simulator, which can run
a day of candles in minutes, only the venue's time is meaningful. It never goes backwards.
"""

from __future__ import annotations


class MarketClock:
    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now(self) -> int:
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        """Move to `ts_ms`; an earlier time (a late event) leaves the clock where it is."""
        if ts_ms > self._now:
            self._now = ts_ms
