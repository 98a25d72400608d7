"""Input handling shared by `aitrader.indicators`; the computations live in `_kernels`.

Why a separate module: every indicator normalises its inputs the same way and applies the same
leading-NaN policy, so it is done once here.

Leading-NaN policy (all indicators): computation starts at the first index where every input is
non-NaN, exactly as TA-Lib's Python wrapper does, so chained indicators (e.g. an SMA of an RSI)
warm up once more and then line up with TA-Lib. A NaN *inside* the series is not skipped: it
propagates to every later output of recursive indicators and to the windows containing it of
windowed indicators. Clean or forward-fill gaps before calling.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import windows as _kw

# Stands in for an output a kernel should skip (e.g. the bands of a plain rolling std).
NO_OUTPUT: FloatArray = np.empty(0)


def as_float(x: npt.ArrayLike) -> FloatArray:
    """A contiguous float64 1-D *read-only* view/copy of `x`.

    Read-only so that the compiled kernels always see one array type (numba compiles writable
    and read-only arrays separately) — and indicators must not write into their inputs anyway.
    """
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"indicator inputs must be 1-D, got shape {a.shape}")
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def as_floats(*xs: npt.ArrayLike) -> list[FloatArray]:
    """Several aligned inputs as float64; raises if their lengths differ."""
    arrs = [as_float(x) for x in xs]
    n = len(arrs[0])
    for a in arrs[1:]:
        if len(a) != n:
            raise ValueError(f"indicator inputs have different lengths: {[len(b) for b in arrs]}")
    return arrs


def check_period(period: int, minimum: int = 1, name: str = "period") -> int:
    """Validate a window length; TA-Lib silently misbehaves on bad ones, we refuse."""
    if int(period) != period or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")
    return int(period)


def first_valid(*xs: FloatArray) -> int:
    """First index at which every input is non-NaN (len if there is none)."""
    return max(int(_kw.first_valid(x)) for x in xs)


def nans(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float64)
