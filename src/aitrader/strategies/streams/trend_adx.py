"""Streaming twin of `builtin.trend_adx`: EMA trend, ADX and the DIs, swing stop from Donchian."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import ADX, EMA, Donchian
from aitrader.strategies.streaming import Edge, StrategyStream, StreamSignal, emit

if TYPE_CHECKING:
    from aitrader.strategies.builtin.trend_adx import TrendAdx


class TrendAdxStream(StrategyStream):
    def __init__(self, s: TrendAdx) -> None:
        self._fast, self._slow = EMA(s.p.int("fast")), EMA(s.p.int("slow"))
        self._adx = ADX(s.p.int("adx_period"))
        self._swing = Donchian(s.p.int("swing"))
        self._thr = s.p.float("adx_min")
        self._up, self._down = Edge(), Edge()

    def update(self, candle: Candle) -> StreamSignal:
        h, lo, c = candle.high, candle.low, candle.close
        fast, slow = self._fast.update(c), self._slow.update(c)
        a = self._adx.update(h, lo, c)
        pdi, mdi = self._adx.plus_di, self._adx.minus_di
        swing_high, _, swing_low = self._swing.update(h, lo)
        defined = fast == fast and slow == slow and a == a and pdi == pdi and mdi == mdi
        thr = self._thr
        strong = a >= thr
        up = self._up.update(strong and fast > slow and pdi > mdi, defined)
        down = self._down.update(strong and fast < slow and mdi > pdi, defined)
        if not (up or down):
            return emit(False, False)
        strength = min(max(0.5 + 0.5 * (a - thr) / thr, 0.0), 1.0)
        return emit(up, down, strength=strength, stop=swing_low if up else swing_high)
