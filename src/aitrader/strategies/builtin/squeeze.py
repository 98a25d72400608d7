"""Volatility squeeze: Bollinger bands inside Keltner channels, trade the release."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.indicators import bbands, keltner
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import run_length
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.squeeze import SqueezeStream


class Squeeze(Strategy):
    """Fire on the bar a squeeze of at least `min_bars` ends, in the direction of the close vs the mean.

    When Bollinger bands (stdev) contract inside Keltner channels (ATR) volatility is compressed;
    compression tends to end in an expansion. The release bar fires long if the close is above the
    Bollinger middle, short/exit if below. Stop hint: the opposite Keltner band. Strength grows with
    the squeeze's length (0.5 at `min_bars`, 1 at 3x).
    """

    name = "squeeze"
    description = "Bollinger-inside-Keltner squeeze, fire on release"
    style = "trend"
    params = (
        Param("bb_period", "int", 20, low=5, high=100, step=1, help="Bollinger period"),
        Param("bb_k", "float", 2.0, low=1.0, high=4.0, step=0.1, help="Bollinger width in std"),
        Param("kc_period", "int", 20, low=5, high=100, step=1, help="Keltner EMA period"),
        Param("kc_mult", "float", 1.5, low=0.5, high=4.0, step=0.1, help="Keltner width in ATR"),
        Param("kc_atr", "int", 10, low=2, high=100, step=1, help="Keltner ATR period"),
        Param("min_bars", "int", 6, low=1, high=100, step=1, help="bars the squeeze must have lasted"),
    )

    @property
    def warmup(self) -> int:
        p = self.p
        return max(p.int("bb_period"), p.int("kc_period"), p.int("kc_atr") + 1) + p.int("min_bars") + 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        p = self.p
        c = candles.close
        bb_up, bb_mid, bb_lo = bbands(c, p.int("bb_period"), p.float("bb_k"))
        kc_up, _, kc_lo = keltner(
            candles.high, candles.low, c, p.int("kc_period"), p.float("kc_mult"), p.int("kc_atr")
        )
        defined = ~(np.isnan(bb_up) | np.isnan(kc_up))
        with np.errstate(invalid="ignore"):
            on = defined & (bb_up < kc_up) & (bb_lo > kc_lo)
        length = run_length(on)
        released = np.zeros(len(c), dtype=np.bool_)
        released[1:] = (length[:-1] >= p.int("min_bars")) & ~on[1:] & defined[1:]
        with np.errstate(invalid="ignore"):
            up, down = released & (c > bb_mid), released & (c < bb_mid)
        prior = np.zeros(len(c))
        prior[1:] = length[:-1]
        strength = np.clip(0.5 + 0.25 * (prior / p.int("min_bars") - 1.0), 0.5, 1.0)
        return Signals.from_events(up, down, strength=strength, stop=np.where(up, kc_lo, kc_up))

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.squeeze`)."""
        return SqueezeStream(self)

    def explain(self, direction: int) -> str:
        way = "up" if direction > 0 else "down"
        return f"volatility squeeze (Bollinger inside Keltner) released {way}"
