"""Momentum oscillators: RSI, MACD, Stochastic, CCI.

Conventions (all match TA-Lib 0.8 with default compatibility and unstable period 0):
- rsi: Wilder. Average gain/loss seeded with the plain mean of the first `period` changes, so the
  first value is at index `period`; then avg = (avg*(period-1) + x)/period. A window with no
  movement at all (avg gain + avg loss == 0) gives 0, as TA-Lib does — beware on dead markets.
- macd: TA-Lib alignment — the slow EMA is seeded with the SMA of x[0:slow], and the fast EMA is
  seeded *at the same bar* (index slow-1) with the SMA of the `fast` values ending there, not at
  index fast-1. The signal is an EMA of the MACD line seeded with the SMA of its first `signal`
  values; all three outputs start at index slow+signal-2. fast > slow are swapped like TA-Lib.
- stoch: raw %K = 100*(close - lowest low)/(highest high - lowest low) over `fastk` bars (0 when
  the range is 0), slow %K = SMA(raw, slowk), slow %D = SMA(slow %K, slowd). Both outputs start at
  index fastk+slowk+slowd-3 (TA-Lib hides the earlier slow %K values too).
- cci: typical price (h+l+c)/3; (tp - SMA(tp)) / (0.015 * mean absolute deviation), 0 when either
  is 0; first value at index period-1. O(n*period) for the mean deviation, like TA-Lib. Unlike
  TA-Lib, |tp - SMA| <= 1e-13*|SMA| also counts as 0: such windows differ only in the last bits
  (e.g. typical prices 1 ulp apart), where TA-Lib returns 0 or +-66.7 depending on rounding.
Leading NaN are skipped (see `_util`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import flows as _kf
from aitrader.indicators._kernels import recursive as _kr
from aitrader.indicators._kernels import windows as _kw
from aitrader.indicators._util import as_float, as_floats, check_period, first_valid
from aitrader.indicators.cache import cached


@cached
def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's Relative Strength Index in [0, 100]; first value at index `period`."""
    a = as_float(close)
    p = check_period(period)
    out = np.empty(len(a))
    _kr.rsi(a, first_valid(a), p, out)
    return out


@cached
def macd(
    close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD (line, signal, histogram) with TA-Lib's seeding and alignment (see module docstring)."""
    a = as_float(close)
    f = check_period(fast, 2, "fast")
    sl = check_period(slow, 2, "slow")
    sg = check_period(signal, 1, "signal")
    if sl < f:
        f, sl = sl, f
    line, sig, hist = np.empty(len(a)), np.empty(len(a)), np.empty(len(a))
    _kr.macd(a, first_valid(a), f, sl, sg, line, sig, hist)
    return line, sig, hist


@cached
def stoch(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    fastk: int = 14,
    slowk: int = 3,
    slowd: int = 3,
) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic (%K, %D) with SMA smoothing, as TA-Lib STOCH with matype SMA."""
    h, lo, c = as_floats(high, low, close)
    fk = check_period(fastk, 1, "fastk")
    sk = check_period(slowk, 1, "slowk")
    sd = check_period(slowd, 1, "slowd")
    s = first_valid(h, lo, c)
    n = len(h)
    k, d = np.empty(n), np.empty(n)
    scratch = np.empty((2, max(n - s - fk + 1, 0)))
    _kw.stoch(h, lo, c, s, fk, sk, sd, k, d, scratch[0], scratch[1])
    return k, d


@cached
def cci(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Commodity Channel Index over typical price; first value at index period-1."""
    h, lo, c = as_floats(high, low, close)
    p = check_period(period)
    out = np.empty(len(h))
    _kf.cci(h, lo, c, first_valid(h, lo, c), p, out)
    return out
