"""Streaming moving averages and dispersion: SMA, EMA, WMA, RollingStd, BBands.

Each mirrors its vectorised twin in `aitrader.indicators.moving` / `.volatility` (same seeding,
same warm-up) and is O(1) amortised per update; see `_base` for the shared conventions.
"""

from __future__ import annotations

import math
from collections import deque

from aitrader.indicators.streaming._base import NAN, WindowSum, check_period


class SMA:
    """Simple moving average; warmup = period - 1."""

    def __init__(self, period: int) -> None:
        self.period = check_period(period)
        self.warmup = self.period - 1
        self._sum = WindowSum(self.period)
        self._started = False
        self.value = NAN

    def update(self, x: float) -> float:
        if not self._started:
            if x != x:
                return NAN
            self._started = True
        self._sum.push(x)
        self.value = self._sum.sum / self.period if self._sum.full else NAN
        return self.value


class EMA:
    """EMA with k = 2/(period+1), seeded with the SMA of the first `period` values; warmup = period-1."""

    def __init__(self, period: int) -> None:
        self.period = check_period(period)
        self.warmup = self.period - 1
        self._k = 2.0 / (self.period + 1)
        self._seed: list[float] = []
        self.value = NAN

    def update(self, x: float) -> float:
        if len(self._seed) < self.period:
            if x != x and not self._seed:
                return NAN
            self._seed.append(x)
            if len(self._seed) == self.period:
                self.value = math.fsum(self._seed) / self.period
            return self.value
        self.value = (1.0 - self._k) * self.value + self._k * x
        return self.value


class WMA:
    """Linearly weighted moving average (weights 1..period); warmup = period-1.

    Keeps the plain sum S and weighted sum T: T' = T - S + period*x, S' = S - oldest + x, both
    re-summed exactly every `period` updates so rounding cannot accumulate.
    """

    def __init__(self, period: int) -> None:
        self.period = check_period(period)
        self.warmup = self.period - 1
        self._buf: deque[float] = deque(maxlen=self.period)
        self._s = 0.0
        self._t = 0.0
        self._since = 0
        self._den = self.period * (self.period + 1) / 2.0
        self.value = NAN

    def update(self, x: float) -> float:
        if x != x and not self._buf:
            return NAN
        p = self.period
        was_full = len(self._buf) == p
        if was_full:
            self._t += p * x - self._s
            self._s += x - self._buf[0]
        self._buf.append(x)
        self._since += 1
        if self._since >= p or not was_full:
            self._s = math.fsum(self._buf)
            self._t = math.fsum((i + 1) * v for i, v in enumerate(self._buf))
            self._since = 0
        self.value = self._t / self._den if len(self._buf) == p else NAN
        return self.value


class RollingStd:
    """Rolling mean and standard deviation over `period` values; warmup = period-1.

    Sums of d = x - ref and d^2, where the reference is moved to the latest value each time the
    window is re-summed (every `period` updates), so d stays small and the variance does not
    cancel; a window of identical values gives exactly 0 like the vectorised path.
    """

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
        self._since = 0
        self.mean = NAN
        self.value = NAN

    def update(self, x: float) -> float:
        if x != x and not self._buf:
            return NAN
        p = self.period
        if self._buf and p > 1:
            if len(self._changes) == self._changes.maxlen and self._changes[0]:
                self._nchanges -= 1
            ch = x != self._buf[-1]
            self._changes.append(ch)
            self._nchanges += ch
        if len(self._buf) == p:
            old = self._buf[0] - self._ref
            self._s1 -= old
            self._s2 -= old * old
        self._buf.append(x)
        d = x - self._ref
        self._s1 += d
        self._s2 += d * d
        self._since += 1
        if self._since >= p:
            self._ref = x
            ds = [v - x for v in self._buf]
            self._s1 = math.fsum(ds)
            self._s2 = math.fsum(v * v for v in ds)
            self._since = 0
        if len(self._buf) < p:
            self.mean = self.value = NAN
            return NAN
        self.mean = self._ref + self._s1 / p
        flat = self._nchanges == 0
        self.value = (
            0.0 if flat else math.sqrt(max((self._s2 - self._s1 * self._s1 / p) / (p - self.ddof), 0.0))
        )
        return self.value


class BBands:
    """Bollinger Bands (upper, middle, lower) = SMA +- nbdev * population std; warmup = period-1."""

    def __init__(self, period: int = 20, nbdev: float = 2.0) -> None:
        self._std = RollingStd(period)
        self.nbdev = nbdev
        self.warmup = self._std.warmup
        self.value: tuple[float, float, float] = (NAN, NAN, NAN)

    def update(self, x: float) -> tuple[float, float, float]:
        sd = self._std.update(x)
        m = self._std.mean
        self.value = (m + self.nbdev * sd, m, m - self.nbdev * sd)
        return self.value
