"""Streaming twin of `builtin.squeeze`: squeeze run length and the release bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.indicators.streaming import BBands, Keltner
from aitrader.strategies.streaming import StrategyStream, StreamSignal, emit

if TYPE_CHECKING:
    from aitrader.strategies.builtin.squeeze import Squeeze


class SqueezeStream(StrategyStream):
    def __init__(self, s: Squeeze) -> None:
        p = s.p
        self._bb = BBands(p.int("bb_period"), p.float("bb_k"))
        self._kc = Keltner(p.int("kc_period"), p.float("kc_mult"), p.int("kc_atr"))
        self._min = p.int("min_bars")
        self._length = 0  # consecutive squeeze bars ending at the previous bar

    def update(self, candle: Candle) -> StreamSignal:
        c = candle.close
        bb_up, bb_mid, bb_lo = self._bb.update(c)
        kc_up, _, kc_lo = self._kc.update(candle.high, candle.low, c)
        defined = bb_up == bb_up and kc_up == kc_up
        on = defined and bb_up < kc_up and bb_lo > kc_lo
        prior = self._length
        self._length = prior + 1 if on else 0
        released = prior >= self._min and not on and defined
        up, down = released and c > bb_mid, released and c < bb_mid
        if not (up or down):
            return emit(False, False)
        strength = min(max(0.5 + 0.25 * (prior / self._min - 1.0), 0.5), 1.0)
        return emit(up, down, strength=strength, stop=kc_lo if up else kc_up)
