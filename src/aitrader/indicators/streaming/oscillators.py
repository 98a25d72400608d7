"""Streaming oscillators: RSI, MACD, Stoch, CCI, MFI — mirrors of `aitrader.indicators.momentum`/`.volume`.

Same seeding and warm-up as the vectorised functions (TA-Lib conventions, see their module
docstrings). All O(1) amortised per update except CCI, which is O(period): its mean absolute
deviation needs every value of the window around the *current* mean (TA-Lib does the same).
"""

from __future__ import annotations

import math
from collections import deque

from aitrader.indicators.streaming._base import NAN, RollingExtreme, WindowSum, any_nan, check_period
from aitrader.indicators.streaming.moving import SMA

_DEAD_ZONE = 1e-14  # MFI: typical-price changes within rounding count as no change (TA-Lib 0.8)
_ILL = 1e-13  # CCI: |tp - mean| within rounding of the mean counts as 0 (see momentum.cci)


class RSI:
    """Wilder's RSI; warmup = period. Flat history (no gain and no loss) gives 0 like TA-Lib."""

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period)
        self.warmup = self.period
        self._prev = NAN
        self._n = 0
        self._g = 0.0
        self._l = 0.0
        self._seed_g: list[float] = []
        self._seed_l: list[float] = []
        self.value = NAN

    def update(self, x: float) -> float:
        if self._prev != self._prev:
            self._prev = x
            return NAN
        d = x - self._prev
        self._prev = x
        g, lo = max(d, 0.0), max(-d, 0.0)
        p = self.period
        if len(self._seed_g) < p:
            self._seed_g.append(g)
            self._seed_l.append(lo)
            if len(self._seed_g) < p:
                return NAN
            self._g = math.fsum(self._seed_g) / p
            self._l = math.fsum(self._seed_l) / p
        else:
            a = (p - 1) / p
            self._g = a * self._g + g / p
            self._l = a * self._l + lo / p
        tot = self._g + self._l
        self.value = 100.0 * self._g / tot if tot != 0.0 else 0.0
        return self.value


class MACD:
    """MACD (line, signal, hist) with TA-Lib seeding: both EMAs seeded at bar slow-1 (the fast one with
    the SMA of the `fast` values ending there); warmup = slow + signal - 2."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        f = check_period(fast, 2, "fast")
        s = check_period(slow, 2, "slow")
        self.signal_period = check_period(signal, 1, "signal")
        self.fast, self.slow = (s, f) if s < f else (f, s)
        self.warmup = self.slow + self.signal_period - 2
        self._buf: list[float] = []
        self._kf = 2.0 / (self.fast + 1)
        self._ks = 2.0 / (self.slow + 1)
        self._ef = NAN
        self._es = NAN
        self._sig_seed: list[float] = []
        self._sig = NAN
        self.value: tuple[float, float, float] = (NAN, NAN, NAN)

    def update(self, x: float) -> tuple[float, float, float]:
        if len(self._buf) < self.slow:
            if x != x and not self._buf:
                return self.value
            self._buf.append(x)
            if len(self._buf) < self.slow:
                return self.value
            self._es = math.fsum(self._buf) / self.slow
            self._ef = math.fsum(self._buf[-self.fast :]) / self.fast
        else:
            self._ef = (1.0 - self._kf) * self._ef + self._kf * x
            self._es = (1.0 - self._ks) * self._es + self._ks * x
        line = self._ef - self._es
        sp = self.signal_period
        if len(self._sig_seed) < sp:
            self._sig_seed.append(line)
            if len(self._sig_seed) < sp:
                return self.value
            self._sig = math.fsum(self._sig_seed) / sp
        else:
            k = 2.0 / (sp + 1)
            self._sig = (1.0 - k) * self._sig + k * line
        self.value = (line, self._sig, line - self._sig)
        return self.value


class Stoch:
    """Slow stochastic (%K, %D) with SMA smoothing; warmup = fastk + slowk + slowd - 3."""

    def __init__(self, fastk: int = 14, slowk: int = 3, slowd: int = 3) -> None:
        self.fastk = check_period(fastk, 1, "fastk")
        self._hi = RollingExtreme(self.fastk, True)
        self._lo = RollingExtreme(self.fastk, False)
        self._k = SMA(check_period(slowk, 1, "slowk"))
        self._d = SMA(check_period(slowd, 1, "slowd"))
        self.warmup = self.fastk + slowk + slowd - 3
        self._started = False
        self.value: tuple[float, float] = (NAN, NAN)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        if not self._started:
            if any_nan(high, low, close):
                return self.value
            self._started = True
        hh = self._hi.push(high)
        ll = self._lo.push(low)
        if not self._hi.full:
            return self.value
        rng = hh - ll
        raw = (close - ll) / (rng / 100.0) if rng != 0.0 else 0.0
        k = self._k.update(raw)
        if k != k:
            return self.value
        d = self._d.update(k)
        self.value = (k, d) if d == d else (NAN, NAN)
        return self.value


class CCI:
    """Commodity Channel Index; warmup = period-1. O(period) per update (mean absolute deviation)."""

    def __init__(self, period: int = 20) -> None:
        self.period = check_period(period)
        self.warmup = self.period - 1
        self._buf: deque[float] = deque(maxlen=self.period)
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if not self._buf and any_nan(high, low, close):
            return NAN
        tp = (high + low + close) / 3.0
        self._buf.append(tp)
        p = self.period
        if len(self._buf) < p:
            return NAN
        mean = math.fsum(self._buf) / p
        md = math.fsum(abs(v - mean) for v in self._buf) / p
        num = tp - mean
        if abs(num) <= _ILL * abs(mean) or md == 0.0:
            self.value = 0.0
        else:
            self.value = num / (0.015 * md)
        return self.value


class MFI:
    """Money Flow Index; warmup = period."""

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period)
        self.warmup = self.period
        self._prev = NAN
        self._pos = WindowSum(self.period)
        self._neg = WindowSum(self.period)
        self._ups: deque[bool] = deque(maxlen=self.period)
        self._dns: deque[bool] = deque(maxlen=self.period)
        self._nup = 0
        self._ndn = 0
        self.value = NAN

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        tp = (high + low + close) / 3.0
        if self._prev != self._prev:
            if not any_nan(tp, volume):
                self._prev = tp
            return NAN
        d = tp - self._prev
        moved = abs(d) > _DEAD_ZONE * (abs(tp) + abs(self._prev))
        self._prev = tp
        up, dn = moved and d > 0, moved and d < 0
        mf = tp * volume
        if len(self._ups) == self.period:
            self._nup -= self._ups[0]
            self._ndn -= self._dns[0]
        self._ups.append(up)
        self._dns.append(dn)
        self._nup += up
        self._ndn += dn
        self._pos.push(mf if up else 0.0)
        self._neg.push(mf if dn else 0.0)
        if not self._pos.full:
            return NAN
        pos = self._pos.sum if self._nup else 0.0
        neg = self._neg.sum if self._ndn else 0.0
        tot = pos + neg
        self.value = 100.0 * pos / tot if tot != 0.0 else 0.0
        return self.value
