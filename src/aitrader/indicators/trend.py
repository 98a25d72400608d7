"""Directional movement: ADX, +DI, -DI (Wilder), matching TA-Lib 0.8 (unstable period 0).

TA-Lib conventions reproduced here, because they decide the first ~3*period values:
- +DM = up-move if up-move > 0 and up-move > down-move, else 0; -DM symmetric (ties give 0 to both).
- DM and TR are smoothed as Wilder *sums*: the plain sum over bars 1..period-1, then
  s = s - s/period + value from bar `period` on. +DI = 100 * s(+DM) / s(TR) (0 when s(TR) == 0);
  first DI value at index `period`.
- DX = 100 * |+DI - -DI| / (+DI + -DI), undefined when s(TR) or the DI sum is 0.
- ADX: first value at index 2*period-1 = sum of the first `period` DX values (undefined ones count
  as 0) / period; then adx = (adx*(period-1) + dx)/period, and when DX is undefined the ADX is
  *held* (TA-Lib skips the update rather than decaying towards 0).
All three come from one compiled pass (`_kernels.recursive.dmi`).
Leading NaN are skipped (see `_util`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import recursive as _kr
from aitrader.indicators._util import NO_OUTPUT, as_floats, check_period, first_valid
from aitrader.indicators.cache import cached


def _dmi(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int, which: int
) -> FloatArray:
    """Output `which` (0: +DI, 1: -DI, 2: ADX); the kernel skips the others."""
    h, lo, c = as_floats(high, low, close)
    p = check_period(period)
    outs = [NO_OUTPUT, NO_OUTPUT, NO_OUTPUT]
    outs[which] = np.empty(len(h))
    _kr.dmi(h, lo, c, first_valid(h, lo, c), p, *outs)
    return outs[which]


@cached
def plus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """+DI in [0, 100]; first value at index `period`."""
    return _dmi(high, low, close, period, 0)


@cached
def minus_di(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """-DI in [0, 100]; first value at index `period`."""
    return _dmi(high, low, close, period, 1)


@cached
def adx(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Wilder's Average Directional Index in [0, 100]; first value at index 2*period-1."""
    return _dmi(high, low, close, period, 2)
