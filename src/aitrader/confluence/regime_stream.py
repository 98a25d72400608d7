"""Streaming twin of `regime.classify`: one bar's trend code and volatility flag in O(log window).

Why: the live confluence must weight votes by the same regime the backtest saw, without rescanning
the ATR history every candle. ADX and ATR are the O(1) streaming indicators; the ATR percentile rank
is `PercentileRank` (a sorted window). Same inputs, same thresholds, same multipliers as
`regime.classify` / `Regime.multiplier`, proven equal on real data by tests/confluence/test_streaming*.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from aitrader.confluence.regime import (
    RANGING,
    STYLE_MULTIPLIER,
    TRENDING,
    UNKNOWN,
    VOLATILE_DAMPING,
    RegimeParams,
    describe_regime,
)
from aitrader.indicators.streaming import ADX, ATR
from aitrader.indicators.streaming.rank import PercentileRank
from aitrader.strategies.base import Style

NAN = math.nan


def divide(a: float, b: float) -> float:
    """a / b with numpy's float semantics (x/0 = +-inf, 0/0 = NaN) instead of ZeroDivisionError."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return NAN
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


class BarRegime(NamedTuple):
    trend: int  # UNKNOWN / RANGING / TRENDING
    volatile: bool
    adx: float
    atr_rank: float

    def multiplier(self, style: Style) -> float:
        """`Regime.multiplier` for this bar."""
        table = STYLE_MULTIPLIER[style]
        code = self.trend
        m = table[TRENDING] if code == TRENDING else table[RANGING] if code == RANGING else 1.0
        return m * VOLATILE_DAMPING if self.volatile else m

    def describe(self) -> str:
        return describe_regime(self.trend, self.adx, self.volatile, self.atr_rank)


class RegimeStream:
    """Feed every candle's high/low/close in order; `atr` exposes the ATR for sharing."""

    def __init__(self, params: RegimeParams) -> None:
        self.params = params
        self._adx = ADX(params.adx_period)
        self.atr = ATR(params.atr_period)
        self._rank = PercentileRank(params.vol_window)

    def update(self, high: float, low: float, close: float) -> BarRegime:
        p = self.params
        a = self._adx.update(high, low, close)
        rank = self._rank.update(divide(self.atr.update(high, low, close), close))
        trend = UNKNOWN if a != a else TRENDING if a >= p.adx_trend else RANGING
        return BarRegime(trend, rank >= p.vol_percentile, a, rank)
