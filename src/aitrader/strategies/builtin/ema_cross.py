"""EMA cross: the reference strategy every engine test and benchmark is checked against."""

from __future__ import annotations

from collections.abc import Mapping

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.indicators import ema
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.ema_cross import EmaCrossStream


class EmaCross(Strategy):
    """+1 when the fast EMA crosses above the slow EMA, -1 on the mirror cross; strength 1.

    Exactly: long at t iff fast[t-1] <= slow[t-1] and fast[t] > slow[t] (all four defined); short/exit
    iff fast[t-1] >= slow[t-1] and fast[t] < slow[t]. EMAs are SMA-seeded (TA-Lib convention). No
    stop/take hints: confluence's ATR levels apply. Deliberately plain, so that any engine can be
    checked against a hand computation.
    """

    name = "ema_cross"
    description = "Fast EMA crossing the slow EMA (reference strategy)"
    style = "trend"
    params = (
        Param("fast", "int", 12, low=2, high=100, step=1, help="fast EMA period"),
        Param("slow", "int", 26, low=3, high=400, step=1, help="slow EMA period"),
    )

    def validate(self) -> None:
        if self.p.int("fast") >= self.p.int("slow"):
            raise StrategyError(
                f"strategy ema_cross: fast ({self.p.int('fast')}) must be below slow ({self.p.int('slow')})"
            )

    @property
    def warmup(self) -> int:
        return self.p.int("slow")

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        fast = ema(candles.close, self.p.int("fast"))
        slow = ema(candles.close, self.p.int("slow"))
        return Signals.from_events(crossed_above(fast, slow), crossed_below(fast, slow))

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.ema_cross`)."""
        return EmaCrossStream(self)

    def explain(self, direction: int) -> str:
        f, s = self.p.int("fast"), self.p.int("slow")
        way = "above" if direction > 0 else "below"
        return f"fast EMA({f}) crossed {way} slow EMA({s})"
