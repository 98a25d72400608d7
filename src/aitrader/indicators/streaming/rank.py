"""Streaming percentile rank: mirror of `aitrader.indicators.volatility.percentile_rank`.

Why: confluence's live regime ("ATR in the top 10% of the last 200 bars") must cost O(log window)
per candle, not a scan of the window. The window-1 earlier values are kept in a bounded deque (for
eviction order) and a sorted list (for counting with bisect); insert/delete in a list of a few
hundred floats is a short memmove, far cheaper than a Python-level scan.

Same rank as the vectorised function, exactly (it only counts comparisons): (#earlier < x +
0.5 * #earlier == x) / (window - 1); NaN for the first window-1 values after the first valid one
and wherever x is NaN; an interior NaN among the earlier values is neither below nor equal.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque

from aitrader.indicators.streaming._base import NAN, check_period


class PercentileRank:
    """Rank of the newest value among the `window - 1` values before it, in [0, 1]; warmup = window-1."""

    def __init__(self, window: int) -> None:
        self.window = check_period(window, 2, "window")
        self.warmup = self.window - 1
        self._prev: deque[float] = deque()
        self._sorted: list[float] = []
        self.value = NAN

    def update(self, x: float) -> float:
        prev, srt = self._prev, self._sorted
        if not prev and x != x:
            return NAN  # leading NaN: not started yet
        rank = NAN
        if len(prev) == self.warmup:
            if x == x:
                below = bisect_left(srt, x)
                equal = bisect_right(srt, x, below) - below
                rank = (below + 0.5 * equal) / self.warmup
            old = prev.popleft()
            if old == old:
                del srt[bisect_left(srt, old)]
        prev.append(x)
        if x == x:
            insort(srt, x)
        self.value = rank
        return rank
