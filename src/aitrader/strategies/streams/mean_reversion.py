"""Streaming twin of `builtin.mean_reversion`: Bollinger excursion confirmed by RSI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import RSI, BBands
from aitrader.strategies.streaming import Edge, StrategyStream, StreamSignal, emit

if TYPE_CHECKING:
    from aitrader.strategies.builtin.mean_reversion import MeanReversion


class MeanReversionStream(StrategyStream):
    def __init__(self, s: MeanReversion) -> None:
        self._bb = BBands(s.p.int("bb_period"), s.p.float("bb_k"))
        self._rsi = RSI(s.p.int("rsi_period"))
        self._lo, self._hi = s.p.float("rsi_low"), s.p.float("rsi_high")
        self._up, self._down = Edge(), Edge()

    def update(self, candle: Candle) -> StreamSignal:
        c = candle.close
        upper, middle, lower = self._bb.update(c)
        r = self._rsi.update(c)
        lo_t, hi_t = self._lo, self._hi
        defined = lower == lower and r == r
        up = self._up.update(c < lower and r < lo_t, defined)
        down = self._down.update(c > upper and r > hi_t, defined)
        if not (up or down):
            return emit(False, False)
        if up:
            return emit(True, down, strength=0.5 + 0.5 * (lo_t - r) / lo_t, take=middle)
        strength = 0.5 + 0.5 * (r - hi_t) / (100.0 - hi_t)
        return emit(up, down, strength=strength, take=middle)
