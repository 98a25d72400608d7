"""Mean reversion: fade stretched moves outside the Bollinger bands when RSI agrees."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.indicators import bbands, rsi
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import became_true
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.mean_reversion import MeanReversionStream


class MeanReversion(Strategy):
    """Long when "close below the lower band and RSI oversold" begins; short/exit on the mirror.

    In ranging markets prices that leave the bands tend to come back to the mean. Both conditions
    must agree (band alone fires in trends; RSI alone is too early). Take hint: the middle band, the
    mean we bet on; strength grows with how far RSI is past its threshold.
    """

    name = "mean_reversion"
    description = "Bollinger band excursion confirmed by RSI, target the middle band"
    style = "reversion"
    params = (
        Param("bb_period", "int", 20, low=5, high=100, step=1, help="Bollinger period"),
        Param("bb_k", "float", 2.0, low=1.0, high=4.0, step=0.1, help="band width in standard deviations"),
        Param("rsi_period", "int", 14, low=2, high=50, step=1, help="RSI period"),
        Param("rsi_low", "float", 30.0, low=5.0, high=50.0, step=1.0, help="oversold threshold"),
        Param("rsi_high", "float", 70.0, low=50.0, high=95.0, step=1.0, help="overbought threshold"),
    )

    def validate(self) -> None:
        if self.p.float("rsi_low") >= self.p.float("rsi_high"):
            raise StrategyError("strategy mean_reversion: rsi_low must be below rsi_high")

    @property
    def warmup(self) -> int:
        return max(self.p.int("bb_period"), self.p.int("rsi_period") + 1) + 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        c = candles.close
        upper, middle, lower = bbands(c, self.p.int("bb_period"), self.p.float("bb_k"))
        r = rsi(c, self.p.int("rsi_period"))
        lo_t, hi_t = self.p.float("rsi_low"), self.p.float("rsi_high")
        defined = ~(np.isnan(lower) | np.isnan(r))
        with np.errstate(invalid="ignore"):
            up = became_true((c < lower) & (r < lo_t), defined)
            down = became_true((c > upper) & (r > hi_t), defined)
        strength = np.where(up, 0.5 + 0.5 * (lo_t - r) / lo_t, 0.5 + 0.5 * (r - hi_t) / (100.0 - hi_t))
        return Signals.from_events(up, down, strength=strength, take=middle)

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.mean_reversion`)."""
        return MeanReversionStream(self)

    def explain(self, direction: int) -> str:
        if direction > 0:
            return f"close below lower Bollinger band with RSI < {self.p.float('rsi_low'):g}"
        return f"close above upper Bollinger band with RSI > {self.p.float('rsi_high'):g}"
