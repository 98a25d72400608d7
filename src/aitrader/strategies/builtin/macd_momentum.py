"""MACD momentum: trade the turn of the MACD histogram through zero."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.indicators import macd
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.macd_momentum import MacdMomentumStream


class MacdMomentum(Strategy):
    """Long when the MACD line crosses above its signal line (histogram through zero); mirror for exit.

    The histogram turning positive means momentum is accelerating upward. A cross on the side of zero
    that agrees with the trade (MACD line above zero for longs) counts fully (strength 1); a cross
    against the prevailing side is an early counter-trend turn and counts half.
    """

    name = "macd_momentum"
    description = "MACD line crossing its signal line"
    style = "trend"
    params = (
        Param("fast", "int", 12, low=2, high=50, step=1, help="fast EMA period"),
        Param("slow", "int", 26, low=5, high=200, step=1, help="slow EMA period"),
        Param("signal", "int", 9, low=2, high=50, step=1, help="signal EMA period"),
    )

    def validate(self) -> None:
        if self.p.int("fast") >= self.p.int("slow"):
            raise StrategyError("strategy macd_momentum: fast must be below slow")

    @property
    def warmup(self) -> int:
        return self.p.int("slow") + self.p.int("signal") - 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        line, _, hist = macd(candles.close, self.p.int("fast"), self.p.int("slow"), self.p.int("signal"))
        up, down = crossed_above(hist, 0.0), crossed_below(hist, 0.0)
        with np.errstate(invalid="ignore"):
            agrees = np.where(up, line > 0, line < 0)
        return Signals.from_events(up, down, strength=np.where(agrees, 1.0, 0.5))

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.macd_momentum`)."""
        return MacdMomentumStream(self)

    def explain(self, direction: int) -> str:
        way = "above" if direction > 0 else "below"
        return (
            f"MACD({self.p.int('fast')},{self.p.int('slow')},{self.p.int('signal')}) crossed {way} its signal"
        )
