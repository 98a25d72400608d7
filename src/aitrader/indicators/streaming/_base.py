"""Building blocks of the streaming (live) indicators: O(1) amortised rolling state.

Why: live trading updates indicators one closed candle at a time; recomputing the vectorised
functions over a window on every candle is wasteful, and drifting running sums would slowly part
ways with the vectorised results that backtests use. These helpers keep running sums exact
enough by re-summing the window every `period` updates (O(1) amortised) and rolling extremes with
a monotonic deque (O(1) amortised).

Shared conventions of every streaming class:
- `update(...)` takes one bar and returns the indicator value for that bar (a tuple for
  multi-output indicators), NaN during warm-up; `.value` holds the last output.
- `warmup` is the number of leading updates that return NaN — the same as the number of leading
  NaN of the vectorised function on a clean series.
- Leading NaN inputs are ignored (they return NaN and do not count towards warm-up), exactly as
  the vectorised functions skip leading NaN. NaN after the first valid input are not supported.
"""

from __future__ import annotations

import math
from collections import deque

NAN = math.nan


def any_nan(*xs: float) -> bool:
    return any(x != x for x in xs)


class WindowSum:
    """Sum of the last `period` values, re-summed with math.fsum every `period` updates."""

    __slots__ = ("_buf", "_n", "_since", "sum")

    def __init__(self, period: int) -> None:
        self._n = period
        self._buf: deque[float] = deque(maxlen=period)
        self._since = 0
        self.sum = 0.0

    @property
    def full(self) -> bool:
        return len(self._buf) == self._n

    def push(self, x: float) -> None:
        if len(self._buf) == self._n:
            self.sum -= self._buf[0]
        self._buf.append(x)
        self._since += 1
        if self._since >= self._n:
            self.sum = math.fsum(self._buf)
            self._since = 0
        else:
            self.sum += x


class RollingExtreme:
    """Max (or min) of the last `period` values via a monotonic deque of (index, value)."""

    __slots__ = ("_dq", "_i", "_is_max", "_n")

    def __init__(self, period: int, is_max: bool) -> None:
        self._n = period
        self._is_max = is_max
        self._dq: deque[tuple[int, float]] = deque()
        self._i = 0

    def push(self, x: float) -> float:
        dq = self._dq
        if self._is_max:
            while dq and dq[-1][1] <= x:
                dq.pop()
        else:
            while dq and dq[-1][1] >= x:
                dq.pop()
        dq.append((self._i, x))
        if dq[0][0] <= self._i - self._n:
            dq.popleft()
        self._i += 1
        return dq[0][1]

    @property
    def full(self) -> bool:
        return self._i >= self._n


def check_period(period: int, minimum: int = 1, name: str = "period") -> int:
    if int(period) != period or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")
    return int(period)
