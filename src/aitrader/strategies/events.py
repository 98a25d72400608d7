"""Turning indicator states into events: crosses and "became true" edges.

A comparison with NaN is False, so an event needs both bars' inputs defined: warm-up bars can
never fire, and no strategy has to special-case them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray

BoolArray = npt.NDArray[np.bool_]


def crossed_above(a: FloatArray, b: FloatArray | float) -> BoolArray:
    """a[t-1] <= b[t-1] and a[t] > b[t], all four defined."""
    bb = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    out = np.zeros(len(a), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[:-1] <= bb[:-1]) & (a[1:] > bb[1:])
    return out


def crossed_below(a: FloatArray, b: FloatArray | float) -> BoolArray:
    """a[t-1] >= b[t-1] and a[t] < b[t], all four defined."""
    bb = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    out = np.zeros(len(a), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        out[1:] = (a[:-1] >= bb[:-1]) & (a[1:] < bb[1:])
    return out


def became_true(state: BoolArray, defined: BoolArray) -> BoolArray:
    """state[t] and not state[t-1], where the inputs of both bars are defined."""
    out = np.zeros(len(state), dtype=np.bool_)
    out[1:] = state[1:] & ~state[:-1] & defined[1:] & defined[:-1]
    return out


def shift(a: FloatArray, k: int = 1) -> FloatArray:
    """a delayed by k bars (NaN-filled); the value known at the previous close."""
    out = np.full(len(a), np.nan)
    if k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def run_length(state: BoolArray) -> npt.NDArray[np.int64]:
    """Consecutive True bars ending at each bar (0 where False)."""
    n = len(state)
    idx = np.arange(1, n + 1, dtype=np.int64)
    last_false = np.maximum.accumulate(np.where(state, 0, idx))
    return np.where(state, idx - last_false, 0).astype(np.int64)
