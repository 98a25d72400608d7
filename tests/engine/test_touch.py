"""The compiled level scan answers what the numpy definition does: the first low <= level or
high >= level in [start, stop), -1 when none; NaN prices touch nothing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.engine._touch import first_touch


def _reference(low: np.ndarray, high: np.ndarray, start: int, stop: int, lo: float, hi: float) -> int:
    hits = np.flatnonzero((low[start:stop] <= lo) | (high[start:stop] >= hi))
    return start + int(hits[0]) if len(hits) else -1


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    a=st.integers(0, 450),
    b=st.integers(0, 450),
    lo_q=st.floats(0, 1),
    hi_q=st.floats(0, 1),
    no_low=st.booleans(),
    no_high=st.booleans(),
)
def test_first_touch_matches_numpy(
    seed: int, n: int, a: int, b: int, lo_q: float, hi_q: float, no_low: bool, no_high: bool
) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    low, high = close * (1 - rng.uniform(0, 0.01, n)), close * (1 + rng.uniform(0, 0.01, n))
    if n:
        low[rng.integers(0, n, max(1, n // 20))] = np.nan  # gaps/corrupt prices: never a touch
    start, stop = min(a, b, n), min(max(a, b), n)
    lo, hi = -np.inf, np.inf  # levels between the series' quantiles, or none on a side
    if n and not no_low and np.isfinite(low).any():
        lo = float(np.nanquantile(low, lo_q * 0.5))
    if n and not no_high:
        hi = float(np.nanquantile(high, 0.5 + hi_q * 0.5))
    assert first_touch(low, high, start, stop, lo, hi) == _reference(low, high, start, stop, lo, hi)


def test_first_touch_stops_at_the_first_touch_and_respects_the_range() -> None:
    low = np.array([10.0, 9.0, 8.0, np.nan, 5.0])
    high = np.array([11.0, 10.0, 9.0, 20.0, 6.0])
    assert first_touch(low, high, 0, 5, 8.5, np.inf) == 2
    assert first_touch(low, high, 3, 5, 8.5, np.inf) == 4  # NaN low at 3 is no touch
    assert first_touch(low, high, 0, 5, -np.inf, 15.0) == 3
    assert first_touch(low, high, 0, 2, 8.5, 15.0) == -1  # the touch at 2 is outside [0, 2)
    assert first_touch(low, high, 4, 4, 100.0, 0.0) == -1  # empty range
