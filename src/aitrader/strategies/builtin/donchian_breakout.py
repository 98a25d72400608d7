"""Donchian breakout: a close beyond the prior N-bar range, on a volume surge."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.indicators import donchian, sma
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import became_true, shift
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.donchian_breakout import DonchianBreakoutStream


class DonchianBreakout(Strategy):
    """Long when the close breaks above the previous bar's N-bar high with volume >= k x average.

    The channel is taken from the bars BEFORE t (the current bar's own high is inside today's
    channel by construction), and the volume average likewise, so the surge is measured against
    what was normal. Breakouts without participation fail more often; the volume filter drops
    them. A close below the previous N-bar low (any volume) is the exit/short event. Stop hint: the
    channel middle, where the breakout is clearly void. Strength: volume ratio / (2 x k), capped at 1.
    """

    name = "donchian_breakout"
    description = "Close beyond the prior N-bar channel on a volume surge"
    style = "trend"
    params = (
        Param("period", "int", 20, low=5, high=200, step=1, help="channel length in bars"),
        Param("vol_period", "int", 20, low=5, high=200, step=1, help="volume average length"),
        Param("vol_mult", "float", 1.5, low=1.0, high=5.0, step=0.1, help="volume surge factor"),
    )

    @property
    def warmup(self) -> int:
        return max(self.p.int("period"), self.p.int("vol_period")) + 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        c, v = candles.close, np.nan_to_num(candles.volume)
        upper, middle, lower = (shift(x) for x in donchian(candles.high, candles.low, self.p.int("period")))
        avg_vol = shift(sma(v, self.p.int("vol_period")))
        k = self.p.float("vol_mult")
        defined = ~(np.isnan(upper) | np.isnan(avg_vol))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(avg_vol > 0, v / avg_vol, 0.0)
            up = became_true((c > upper) & (ratio >= k), defined)
            down = became_true(c < lower, defined)
        strength = np.where(up, np.minimum(ratio / (2 * k), 1.0), 1.0)
        return Signals.from_events(up, down, strength=strength, stop=middle)

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.donchian_breakout`)."""
        return DonchianBreakoutStream(self)

    def explain(self, direction: int) -> str:
        n = self.p.int("period")
        if direction > 0:
            return f"close broke the {n}-bar high on {self.p.float('vol_mult'):g}x volume"
        return f"close broke the {n}-bar low"
