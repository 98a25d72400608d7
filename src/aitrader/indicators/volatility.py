"""Volatility and channel indicators: true range, ATR, Bollinger, Donchian, Keltner, percentile rank.

Conventions:
- true_range: TA-Lib TRANGE, max(high-low, |high-prev close|, |low-prev close|); NaN at bar 0.
- atr: Wilder. First value at index `period` = SMA of TR[1..period] (TR needs a previous close),
  then atr = (atr*(period-1) + tr)/period — TA-Lib ATR with its default unstable period 0, so equal
  to TA-Lib from the first value.
- bbands: SMA middle +- nbdev * population std (TA-Lib BBANDS, matype SMA).
- donchian: rolling max high / min low including the current bar; middle is their mean.
- keltner: EMA(close, period) middle +- mult * ATR(atr_period); NaN until both exist.
- percentile_rank: see its docstring; not in TA-Lib.
Leading NaN are skipped (see `_util`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import recursive as _kr
from aitrader.indicators._kernels import windows as _kw
from aitrader.indicators._util import as_float, as_floats, check_period, first_valid
from aitrader.indicators.cache import cached
from aitrader.indicators.moving import ema


@cached
def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> FloatArray:
    """True range; NaN at the first bar (no previous close)."""
    h, lo, c = as_floats(high, low, close)
    out = np.empty(len(h))
    _kr.true_range(h, lo, c, first_valid(h, lo, c), out)
    return out


@cached
def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's Average True Range; first value at index `period`."""
    h, lo, c = as_floats(high, low, close)
    p = check_period(period)
    out = np.empty(len(h))
    _kr.atr(h, lo, c, first_valid(h, lo, c), p, out)
    return out


@cached
def bbands(
    close: npt.ArrayLike, period: int = 20, nbdev: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger Bands (upper, middle, lower): SMA +- nbdev population standard deviations."""
    a = as_float(close)
    p = check_period(period)
    up, mid, dn = np.empty(len(a)), np.empty(len(a)), np.empty(len(a))
    _kw.std_bands(a, first_valid(a), p, 0, float(nbdev), up, mid, dn)
    return up, mid, dn


@cached
def donchian(
    high: npt.ArrayLike, low: npt.ArrayLike, period: int = 20
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Donchian channel (upper, middle, lower) over the last `period` bars including the current one."""
    h, lo = as_floats(high, low)
    p = check_period(period)
    up, mid, dn = np.empty(len(h)), np.empty(len(h)), np.empty(len(h))
    _kw.donchian(h, lo, first_valid(h, lo), p, up, mid, dn)
    return up, mid, dn


@cached
def keltner(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    period: int = 20,
    mult: float = 2.0,
    atr_period: int = 10,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Keltner channel (upper, middle, lower): EMA(close, period) +- mult * ATR(atr_period)."""
    h, lo, c = as_floats(high, low, close)
    s = first_valid(h, lo, c)
    mid = np.full(len(c), np.nan)
    mid[s:] = ema(c[s:], period)
    width = atr(h, lo, c, atr_period) * mult
    mid[np.isnan(width)] = np.nan
    return mid + width, mid, mid - width


@cached
def percentile_rank(x: npt.ArrayLike, window: int) -> FloatArray:
    """Where the latest value sits among the `window` values ending at it, in [0, 1].

    rank = (#earlier values below it + 0.5 * #earlier values equal to it) / (window - 1), over the
    window-1 *earlier* values of the window: 0 = lowest of the window, 1 = highest, 0.5 = median
    or a flat window. Used for regimes such as "ATR above its 80th percentile". First value at
    index window-1. O(n*window) comparisons in a compiled, vectorised loop.
    """
    a = as_float(x)
    w = check_period(window, 2, "window")
    out = np.empty(len(a))
    _kw.percentile_rank(a, first_valid(a), w, out)
    return out
