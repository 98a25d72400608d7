"""The feed's level scan, compiled: the first candle whose low or high touches a resting level.

Why compiled: the historical feed asks this whenever a stop or take-profit rests (tens of thousands of
times per backtest), mostly answered within a few hundred candles. A numpy scan pays for half a dozen
array operations per window before it knows; one compiled loop stops at the touch (about 9x faster
per question). See `aitrader.indicators._jit` for how numba is applied (lazily, typed, disk-cached).
"""

from __future__ import annotations

from aitrader.core.candles import FloatArray
from aitrader.indicators._jit import kernel


@kernel
def first_touch(
    low: FloatArray, high: FloatArray, start: int, stop: int, low_level: float, high_level: float
) -> int:
    """First i in [start, stop) with low[i] <= low_level or high[i] >= high_level, else -1 (NaN
    prices touch nothing)."""
    for i in range(start, stop):
        if low[i] <= low_level or high[i] >= high_level:
            return i
    return -1
