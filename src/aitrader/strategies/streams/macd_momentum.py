"""Streaming twin of `builtin.macd_momentum`: the MACD histogram crossing zero."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import MACD
from aitrader.strategies.streaming import Cross, StrategyStream, StreamSignal, emit

if TYPE_CHECKING:
    from aitrader.strategies.builtin.macd_momentum import MacdMomentum


class MacdMomentumStream(StrategyStream):
    def __init__(self, s: MacdMomentum) -> None:
        self._macd = MACD(s.p.int("fast"), s.p.int("slow"), s.p.int("signal"))
        self._cross = Cross()

    def update(self, candle: Candle) -> StreamSignal:
        line, _, hist = self._macd.update(candle.close)
        up, down = self._cross.update(hist, 0.0)
        if not (up or down):
            return emit(False, False)
        agrees = line > 0 if up else line < 0
        return emit(up, down, strength=1.0 if agrees else 0.5)
