"""Technical indicators as a flat functional API over float64 numpy arrays.

Every function returns arrays of the input length, NaN during warm-up; the warm-up lengths and
seeding conventions match TA-Lib wherever TA-Lib has the indicator (see each module's docstring).
Leading NaN in the inputs (e.g. chained indicators) are skipped and the warm-up starts at the
first valid bar; interior NaN propagate (see `_util`). The live path has O(1)-per-update
mirrors of these in `aitrader.indicators.streaming`, tested to agree bar by bar.
"""

from aitrader.indicators.momentum import cci, macd, rsi, stoch
from aitrader.indicators.moving import ema, rolling_std, sma, wma
from aitrader.indicators.trend import adx, minus_di, plus_di
from aitrader.indicators.volatility import atr, bbands, donchian, keltner, percentile_rank, true_range
from aitrader.indicators.volume import mfi, obv, vwap

__all__ = [
    "adx",
    "atr",
    "bbands",
    "cci",
    "donchian",
    "ema",
    "keltner",
    "macd",
    "mfi",
    "minus_di",
    "obv",
    "percentile_rank",
    "plus_di",
    "rolling_std",
    "rsi",
    "sma",
    "stoch",
    "true_range",
    "vwap",
    "wma",
]
