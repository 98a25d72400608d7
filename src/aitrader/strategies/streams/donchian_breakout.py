"""Streaming twin of `builtin.donchian_breakout`: the PREVIOUS bar's channel and volume average."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import SMA, Donchian
from aitrader.strategies.streaming import NAN, Edge, StrategyStream, StreamSignal, emit, nz

if TYPE_CHECKING:
    from aitrader.strategies.builtin.donchian_breakout import DonchianBreakout


class DonchianBreakoutStream(StrategyStream):
    def __init__(self, s: DonchianBreakout) -> None:
        self._dc = Donchian(s.p.int("period"))
        self._avg = SMA(s.p.int("vol_period"))
        self._k = s.p.float("vol_mult")
        self._prev: tuple[float, float, float] = (NAN, NAN, NAN)
        self._prev_avg = NAN
        self._up, self._down = Edge(), Edge()

    def update(self, candle: Candle) -> StreamSignal:
        c, v = candle.close, nz(candle.volume)
        upper, middle, lower = self._prev  # `shift`: what was known at the previous close
        avg = self._prev_avg
        self._prev = self._dc.update(candle.high, candle.low)
        self._prev_avg = self._avg.update(v)
        k = self._k
        defined = upper == upper and avg == avg
        ratio = v / avg if avg > 0 else 0.0
        up = self._up.update(c > upper and ratio >= k, defined)
        down = self._down.update(c < lower, defined)
        strength = min(ratio / (2 * k), 1.0) if up else 1.0
        return emit(up, down, strength=strength, stop=middle)
