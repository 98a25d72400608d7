"""Streaming rolling std that stays relatively accurate when the window's spread is tiny.

Why: `RollingStd` is accurate relative to the *scale of the values* (running sums around a reference
re-centred every `period` updates). When the variance is many orders below that scale - a spread
that is pure rounding noise (1e-21 on a 3e-5 price) after a window of real moves - its running sums
cancel to 0, while the vectorised `rolling_std` recomputes such "shaky" windows exactly. A ratio
like a z-score (x / std) then differs completely between the two paths. This class keeps the same
O(1) fast path and, like the vectorised function, recomputes a window with the two-pass formula
(O(period), rare) whenever the fast result could have lost more than ~4 of its 16 digits.

Same conventions as `RollingStd` (population std for ddof=0; warmup = period-1; leading NaN
skipped; a window of identical values gives exactly 0). `.mean` holds the window mean.
"""

from __future__ import annotations

import math
from collections import deque

from aitrader.indicators.streaming._base import NAN, check_period

_KEEP = 1e-4  # recompute when var < _KEEP x the magnitude its rounding error scales with


class PreciseRollingStd:
    def __init__(self, period: int, ddof: int = 0) -> None:
        self.period = check_period(period, 1 + max(ddof, 0))
        self.ddof = ddof
        self.warmup = self.period - 1
        self._buf: deque[float] = deque(maxlen=self.period)
        self._changes: deque[bool] = deque(maxlen=max(self.period - 1, 1))
        self._nchanges = 0
        self._ref = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._mag = 0.0  # sum of every |d^2| added or removed since the last exact re-sum
        self._since = 0
        self.mean = NAN
        self.value = NAN

    def _resum(self) -> None:
        ds = [v - self._ref for v in self._buf]
        self._s1 = math.fsum(ds)
        self._s2 = math.fsum(d * d for d in ds)
        self._mag = self._s2
        self._since = 0

    def update(self, x: float) -> float:
        buf, p = self._buf, self.period
        if x != x and not buf:
            return NAN
        if buf and p > 1:
            if len(self._changes) == self._changes.maxlen and self._changes[0]:
                self._nchanges -= 1
            ch = x != buf[-1]
            self._changes.append(ch)
            self._nchanges += ch
        if len(buf) == p:
            old = buf[0] - self._ref
            self._s1 -= old
            self._s2 -= old * old
            self._mag += old * old
        buf.append(x)
        d = x - self._ref
        self._s1 += d
        self._s2 += d * d
        self._mag += d * d
        self._since += 1
        if self._since >= p:
            self._ref = x
            self._resum()
        if len(buf) < p:
            return NAN
        if self._nchanges == 0:  # identical values: exactly 0, as the vectorised path
            self.mean = x
            self.value = 0.0
            return 0.0
        var = self._s2 - self._s1 * self._s1 / p
        if var <= _KEEP * self._mag:  # shaky: exact two-pass over the window
            mu = math.fsum(buf) / p
            self.mean = mu
            var = math.fsum((v - mu) * (v - mu) for v in buf)
        else:
            self.mean = self._ref + self._s1 / p
        self.value = math.sqrt(max(var / (p - self.ddof), 0.0))
        return self.value
