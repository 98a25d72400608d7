"""Trend with an ADX filter: follow an EMA trend only when ADX says a trend really exists."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.indicators import adx, donchian, ema, minus_di, plus_di
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import became_true
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.trend_adx import TrendAdxStream


class TrendAdx(Strategy):
    """Long when "fast EMA above slow, ADX >= threshold, +DI above -DI" starts; short/exit on the mirror.

    EMA crosses alone whipsaw in sideways markets; requiring ADX (trend strength) and the directional
    indexes to agree waits for an established move. The event fires on the bar the combined state
    begins. Strength grows with ADX (0.5 at the threshold, 1 at 2x). Stop hint: the lowest low of
    the last `swing` bars for longs (highest high for shorts), a natural invalidation level.
    """

    name = "trend_adx"
    description = "EMA trend confirmed by ADX and the directional indexes"
    style = "trend"
    params = (
        Param("fast", "int", 20, low=5, high=100, step=1, help="fast EMA period"),
        Param("slow", "int", 50, low=10, high=300, step=5, help="slow EMA period"),
        Param("adx_period", "int", 14, low=5, high=50, step=1, help="ADX / DI period"),
        Param("adx_min", "float", 25.0, low=10.0, high=50.0, step=1.0, help="minimum ADX for a trend"),
        Param("swing", "int", 10, low=2, high=100, step=1, help="bars for the swing stop hint"),
    )

    def validate(self) -> None:
        if self.p.int("fast") >= self.p.int("slow"):
            raise StrategyError("strategy trend_adx: fast must be below slow")

    @property
    def warmup(self) -> int:
        return max(self.p.int("slow"), 2 * self.p.int("adx_period"), self.p.int("swing")) + 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        h, lo, c = candles.high, candles.low, candles.close
        n = self.p.int("adx_period")
        fast, slow = ema(c, self.p.int("fast")), ema(c, self.p.int("slow"))
        strength_adx, pdi, mdi = adx(h, lo, c, n), plus_di(h, lo, c, n), minus_di(h, lo, c, n)
        defined = ~(np.isnan(fast) | np.isnan(slow) | np.isnan(strength_adx) | np.isnan(pdi) | np.isnan(mdi))
        with np.errstate(invalid="ignore"):
            strong = strength_adx >= self.p.float("adx_min")
            up = became_true(strong & (fast > slow) & (pdi > mdi), defined)
            down = became_true(strong & (fast < slow) & (mdi > pdi), defined)
        swing_high, _, swing_low = donchian(h, lo, self.p.int("swing"))
        stop = np.where(up, swing_low, swing_high)
        thr = self.p.float("adx_min")
        strength = np.clip(0.5 + 0.5 * (strength_adx - thr) / thr, 0.0, 1.0)
        return Signals.from_events(up, down, strength=strength, stop=stop)

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.trend_adx`)."""
        return TrendAdxStream(self)

    def explain(self, direction: int) -> str:
        way = "up" if direction > 0 else "down"
        f, s, a = self.p.int("fast"), self.p.int("slow"), self.p.float("adx_min")
        return f"EMA({f}/{s}) trend {way} with ADX >= {a:g}"
