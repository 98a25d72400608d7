"""Market regime per bar, and how much each strategy style is trusted in it.

Trend followers earn their keep when a trend exists and bleed in chop; mean-reverters the opposite.
ADX measures trend strength (>= `adx_trend`: trending, else ranging). Independently, a bar is
volatile when its ATR (as a fraction of price) ranks in the top of its recent history; every style
is damped then, because stops get hit by noise and fills slip. Warm-up bars (ADX undefined) are
"unknown" and weight everything 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, FloatArray
from aitrader.indicators import adx, atr, percentile_rank
from aitrader.strategies.base import Style

UNKNOWN, RANGING, TRENDING = -1, 0, 1
REGIME_NAMES = {UNKNOWN: "unknown", RANGING: "ranging", TRENDING: "trending"}

# multiplier of a strategy's configured weight, by style and trend regime
STYLE_MULTIPLIER: dict[Style, dict[int, float]] = {
    "trend": {UNKNOWN: 1.0, RANGING: 0.75, TRENDING: 1.25},
    "reversion": {UNKNOWN: 1.0, RANGING: 1.25, TRENDING: 0.6},
    "neutral": {UNKNOWN: 1.0, RANGING: 1.0, TRENDING: 1.0},
}
VOLATILE_DAMPING = 0.6


@dataclass(frozen=True, slots=True)
class RegimeParams:
    adx_period: int = 14
    adx_trend: float = 25.0
    atr_period: int = 14
    vol_window: int = 200
    vol_percentile: float = 0.9

    @property
    def history(self) -> int:
        """Bars for the newest regime to match a full-history computation (Wilder memory + window)."""
        return 20 * 2 * max(self.adx_period, self.atr_period) + self.vol_window


@dataclass(frozen=True, slots=True)
class Regime:
    """Per-bar regime: `trend` code (UNKNOWN/RANGING/TRENDING), `volatile` flag and their inputs."""

    trend: npt.NDArray[np.int8]
    volatile: npt.NDArray[np.bool_]
    adx: FloatArray
    atr_rank: FloatArray

    def multiplier(self, style: Style) -> FloatArray:
        """Per-bar weight multiplier for a strategy of `style`."""
        # one table lookup: index = trend code as a byte (+256 when volatile); codes other than
        # TRENDING/RANGING weight 1, as UNKNOWN does
        table = STYLE_MULTIPLIER[style]
        lut = np.ones(512)
        lut[np.uint8(TRENDING)] = table[TRENDING]
        lut[np.uint8(RANGING)] = table[RANGING]
        lut[256:] = lut[:256] * VOLATILE_DAMPING
        trend = np.asarray(self.trend, dtype=np.int8).view(np.uint8)
        idx = trend.astype(np.uint16)
        idx |= np.asarray(self.volatile, dtype=np.bool_).view(np.uint8).astype(np.uint16) << 8
        return lut.take(idx)

    def describe(self, i: int) -> str:
        """`regime trending (ADX 31), volatile (ATR in top 7%)` for bar i."""
        return describe_regime(int(self.trend[i]), self.adx[i], bool(self.volatile[i]), self.atr_rank[i])


def describe_regime(code: int, adx_value: float, volatile: bool, atr_rank: float) -> str:
    """One bar's regime in words (shared with the streaming confluence, which has scalars)."""
    text = f"regime {REGIME_NAMES[code]}"
    if code != UNKNOWN:
        text += f" (ADX {adx_value:.0f})"
    if volatile:
        text += f", volatile (ATR above {atr_rank * 100:.0f}% of the last bars)"
    return text


def classify(candles: OHLCV, params: RegimeParams) -> Regime:
    a = adx(candles.high, candles.low, candles.close, params.adx_period)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel_atr = atr(candles.high, candles.low, candles.close, params.atr_period) / candles.close
    rank = percentile_rank(rel_atr, params.vol_window)
    with np.errstate(invalid="ignore"):
        trend = np.where(np.isnan(a), UNKNOWN, np.where(a >= params.adx_trend, TRENDING, RANGING))
        volatile = rank >= params.vol_percentile
    return Regime(trend.astype(np.int8), volatile, a, rank)
