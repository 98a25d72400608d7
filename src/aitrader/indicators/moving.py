"""Moving averages and rolling dispersion: SMA, EMA, WMA, rolling standard deviation.

Conventions (all match TA-Lib 0.8 with its default compatibility, tested bar by bar):
- SMA/WMA/rolling_std: first output at index `period-1` (after the first valid input).
  WMA weights are 1..period, newest heaviest. rolling_std with ddof=0 is TA-Lib STDDEV(nbdev=1);
  a window of identical values gives exactly 0 (detected with exact integer counts, because the
  rounding residue of the sums would otherwise come out of sqrt as a spurious ~1e-8 relative std).
- EMA: k = 2/(period+1), *seeded with the SMA of the first `period` values* (TA-Lib, freqtrade and
  backtrader do this; pandas' `ewm` does not), so the first output is at index `period-1` and the
  result is exact from there on — EMA has no unstable period under this seeding.
Computed by compiled single-pass loops (`_kernels`): running window sums re-summed periodically
so the error does not grow with the series length, and a variance from sums centred on a recent
window mean with a rounding-error bound that triggers an exact recompute (see
`_kernels.windows.std_bands`).
Leading NaN are skipped (see `_util`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import recursive as _kr
from aitrader.indicators._kernels import windows as _kw
from aitrader.indicators._util import NO_OUTPUT, as_float, check_period, first_valid
from aitrader.indicators.cache import cached


@cached
def sma(x: npt.ArrayLike, period: int) -> FloatArray:
    """Simple moving average; NaN for the first `period-1` bars."""
    a = as_float(x)
    p = check_period(period)
    out = np.empty(len(a))
    _kw.sma(a, first_valid(a), p, out)
    return out


@cached
def ema(x: npt.ArrayLike, period: int) -> FloatArray:
    """Exponential moving average (k = 2/(period+1)) seeded with the SMA of the first `period` values."""
    a = as_float(x)
    p = check_period(period)
    out = np.empty(len(a))
    _kr.ema(a, first_valid(a), p, out)
    return out


@cached
def wma(x: npt.ArrayLike, period: int) -> FloatArray:
    """Linearly weighted moving average (weights 1..period, newest heaviest)."""
    a = as_float(x)
    p = check_period(period)
    out = np.empty(len(a))
    _kw.wma(a, first_valid(a), p, out)
    return out


@cached
def rolling_std(x: npt.ArrayLike, period: int, ddof: int = 0) -> FloatArray:
    """Rolling standard deviation over `period` bars (ddof=0: population, like TA-Lib STDDEV)."""
    a = as_float(x)
    p = check_period(period, 1 + max(ddof, 0))
    out = np.empty(len(a))
    _kw.std_bands(a, first_valid(a), p, int(ddof), 0.0, out, NO_OUTPUT, NO_OUTPUT)
    return out
