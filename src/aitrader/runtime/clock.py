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

import time
from collections.abc import Callable


class MarketClock:
    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now(self) -> int:
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        """Move to `ts_ms`; an earlier time (a late event) leaves the clock where it is."""
        if ts_ms > self._now:
            self._now = ts_ms


class LiveClock(MarketClock):
    """Live mode's clock: the exchange's time between candle closes as well.

    A `MarketClock` stands still between closes, so anything measured on it (a limit entry's
    timeout) could only end at a candle close: a 30 s timeout on 1 h candles would last an hour.
    Live, the market's time runs on between closes, so `now` is the last close plus the wall time
    since it was seen, but never reaches the next close before the feed has delivered it (the engine
    never acts "after" a candle it has not seen). Paper mode keeps `MarketClock`: there the simulated
    venue lets an order take part only in candles opening at or after its stamp, and backtest parity
    needs stamps at exactly the close. Never goes backwards.
    """

    def __init__(self, start_ms: int, horizon_ms: int, wall: Callable[[], float] = time.monotonic) -> None:
        super().__init__(start_ms)
        if horizon_ms <= 0:
            raise ValueError("horizon_ms must be positive (one candle)")
        self.horizon_ms = horizon_ms
        self._wall = wall
        self._since = wall()  # wall time when `_now` was set
        self._close = start_ms  # the latest close the feed delivered

    def now(self) -> int:
        elapsed = int((self._wall() - self._since) * 1000)
        return max(self._now, min(self._now + elapsed, self._close + self.horizon_ms - 1))

    def advance_to(self, ts_ms: int) -> None:
        current = self.now()
        self._close = max(self._close, ts_ms)
        self._now = max(current, ts_ms)
        self._since = self._wall()
