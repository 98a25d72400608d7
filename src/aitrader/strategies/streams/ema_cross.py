"""Streaming twin of `builtin.ema_cross`: two EMAs and a cross detector."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import EMA
from aitrader.strategies.streaming import Cross, StrategyStream, StreamSignal, emit

if TYPE_CHECKING:
    from aitrader.strategies.builtin.ema_cross import EmaCross


class EmaCrossStream(StrategyStream):
    def __init__(self, s: EmaCross) -> None:
        self._fast = EMA(s.p.int("fast"))
        self._slow = EMA(s.p.int("slow"))
        self._cross = Cross()

    def update(self, candle: Candle) -> StreamSignal:
        c = candle.close
        up, down = self._cross.update(self._fast.update(c), self._slow.update(c))
        return emit(up, down)
