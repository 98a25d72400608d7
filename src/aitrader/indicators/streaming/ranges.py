"""Streaming range/trend indicators: ATR, ADX (+DI/-DI), Donchian, Keltner.

Mirrors of `aitrader.indicators.volatility` and `.trend` with the same TA-Lib conventions and
warm-ups; O(1) amortised per update.
"""

from __future__ import annotations

import math

from aitrader.indicators.streaming._base import NAN, RollingExtreme, any_nan, check_period
from aitrader.indicators.streaming.moving import EMA


def _tr(high: float, low: float, prev_close: float) -> float:
    return max(high - low, abs(prev_close - high), abs(prev_close - low))


class ATR:
    """Wilder's ATR; warmup = period. `.tr` is the last true range."""

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period)
        self.warmup = self.period
        self._pc = NAN
        self._seed: list[float] = []
        self.tr = NAN
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if self._pc != self._pc:
            if not any_nan(high, low, close):
                self._pc = close
            return NAN
        self.tr = _tr(high, low, self._pc)
        self._pc = close
        p = self.period
        if len(self._seed) < p:
            self._seed.append(self.tr)
            if len(self._seed) == p:
                self.value = math.fsum(self._seed) / p
            return self.value
        self.value = (p - 1) / p * self.value + self.tr / p
        return self.value


class ADX:
    """ADX with +DI/-DI (TA-Lib's Wilder sums, DX hold on undefined bars; see `indicators.trend`).

    update() returns the ADX (warmup = 2*period-1); `.plus_di` / `.minus_di` hold the DIs of the
    last bar (warm-up `di_warmup` = period).
    """

    def __init__(self, period: int = 14) -> None:
        self.period = check_period(period)
        self.warmup = 2 * self.period - 1
        self.di_warmup = self.period
        self._n = 0  # bars since the first valid one
        self._ph = self._pl = self._pc = NAN
        self._sp = self._sm = self._st = 0.0
        self._dx_sum = 0.0
        self.plus_di = NAN
        self.minus_di = NAN
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if self._n == 0:
            if any_nan(high, low, close):
                return NAN
            self._ph, self._pl, self._pc, self._n = high, low, close, 1
            return NAN
        p = self.period
        up = high - self._ph
        down = self._pl - low
        pdm = up if (up > 0 and up > down) else 0.0
        mdm = down if (down > 0 and down > up) else 0.0
        tr = _tr(high, low, self._pc)
        self._ph, self._pl, self._pc = high, low, close
        bar = self._n
        self._n += 1
        if bar < p:  # bars 1..p-1: plain sums
            self._sp += pdm
            self._sm += mdm
            self._st += tr
            return NAN
        a = 1.0 - 1.0 / p
        self._sp = a * self._sp + pdm
        self._sm = a * self._sm + mdm
        self._st = a * self._st + tr
        if self._st != 0.0:
            self.plus_di = 100.0 * self._sp / self._st
            self.minus_di = 100.0 * self._sm / self._st
        else:
            self.plus_di = self.minus_di = 0.0
        tot = self.plus_di + self.minus_di
        ok = self._st != 0.0 and tot != 0.0
        dx = 100.0 * abs(self.minus_di - self.plus_di) / tot if ok else 0.0
        if bar < 2 * p - 1:
            self._dx_sum += dx
            return NAN
        if bar == 2 * p - 1:
            self.value = (self._dx_sum + dx) / p
        elif ok:
            self.value = (p - 1) / p * self.value + dx / p
        return self.value


class Donchian:
    """Donchian channel (upper, middle, lower) including the current bar; warmup = period-1."""

    def __init__(self, period: int = 20) -> None:
        self.period = check_period(period)
        self.warmup = self.period - 1
        self._hi = RollingExtreme(self.period, True)
        self._lo = RollingExtreme(self.period, False)
        self._started = False
        self.value: tuple[float, float, float] = (NAN, NAN, NAN)

    def update(self, high: float, low: float) -> tuple[float, float, float]:
        if not self._started:
            if any_nan(high, low):
                return self.value
            self._started = True
        u = self._hi.push(high)
        lo = self._lo.push(low)
        if self._hi.full:
            self.value = (u, (u + lo) / 2.0, lo)
        return self.value


class Keltner:
    """Keltner channel (upper, middle, lower) = EMA(close) +- mult*ATR; warmup = max(period-1, atr_period)."""

    def __init__(self, period: int = 20, mult: float = 2.0, atr_period: int = 10) -> None:
        self._ema = EMA(period)
        self._atr = ATR(atr_period)
        self.mult = mult
        self.warmup = max(self._ema.warmup, self._atr.warmup)
        self._started = False
        self.value: tuple[float, float, float] = (NAN, NAN, NAN)

    def update(self, high: float, low: float, close: float) -> tuple[float, float, float]:
        if not self._started:
            if any_nan(high, low, close):
                return self.value
            self._started = True
        m = self._ema.update(close)
        w = self._atr.update(high, low, close) * self.mult
        if m == m and w == w:
            self.value = (m + w, m, m - w)
        return self.value
