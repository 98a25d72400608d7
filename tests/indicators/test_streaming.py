"""Streaming classes equal their vectorised twins bar by bar (1e-9 relative), on real candles and on
Hypothesis-generated series (random walks with flat stretches, ties, tiny and large price levels,
leading NaN)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _indicator_data import assert_close
from _streaming_specs import SPECS, Spec, floor_for, run_both
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import aitrader.indicators.streaming as st
from aitrader.core.candles import OHLCV


def _cols(c: OHLCV, n: int | None = None) -> dict[str, np.ndarray]:
    s = slice(0, n)
    return {
        "ts": c.ts[s],
        "high": c.high[s],
        "low": c.low[s],
        "close": c.close[s],
        "volume": c.volume[s],
    }


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_streaming_equals_vectorised_on_real_data(spec: Spec, candles: OHLCV) -> None:
    cols = _cols(candles, 4000)
    stream, vec, obj = run_both(spec, cols)
    for a, b in zip(stream, vec, strict=True):
        assert_close(a, b, floor_for(spec.floor, cols))
    # warm-up count is what the vectorised output shows, and the last output is kept in .value
    assert int(np.isnan(vec[0]).sum()) == obj.warmup
    last = obj.value if isinstance(obj.value, tuple) else (obj.value,)
    assert all(
        math.isclose(x, s[-1], rel_tol=0, abs_tol=0) or x == s[-1] for x, s in zip(last, stream, strict=False)
    )


@hs.composite
def bars(draw: hs.DrawFn) -> dict[str, np.ndarray]:
    n = draw(hs.integers(0, 160))
    seed = draw(hs.integers(0, 2**32 - 1))
    level = draw(hs.sampled_from([3e-5, 1.0, 17_000.0]))
    tick = level * draw(hs.sampled_from([1e-4, 1e-3]))
    lead_nan = draw(hs.integers(0, 5))
    rng = np.random.default_rng(seed)
    steps = rng.integers(-3, 4, n) * rng.integers(0, 2, n)  # many zero steps: flat stretches, ties
    close = level + tick * np.cumsum(steps)
    close = np.maximum(close, tick)
    up = tick * rng.integers(0, 3, n)
    dn = tick * rng.integers(0, 3, n)
    high = close + up
    low = np.maximum(close - dn, tick / 2)
    vol = rng.integers(0, 5, n).astype(np.float64) * draw(hs.sampled_from([0.5, 1000.0]))
    ts = 1_600_000_000_000 + np.cumsum(rng.integers(1, 4, n)) * 900_000
    cols = {"ts": ts.astype(np.int64), "high": high, "low": low, "close": close, "volume": vol}
    k = min(lead_nan, n)
    for name in ("high", "low", "close", "volume"):
        cols[name] = cols[name].astype(np.float64)
        cols[name][:k] = np.nan
    return cols


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cols=bars())
def test_streaming_equals_vectorised_property(spec: Spec, cols: dict[str, np.ndarray]) -> None:
    stream, vec, _ = run_both(spec, cols)
    for a, b in zip(stream, vec, strict=True):
        assert_close(a, b, floor_for(spec.floor, cols))


def test_warmup_counts_match_talib_lookbacks() -> None:
    assert st.EMA(12).warmup == 11
    assert st.RSI(14).warmup == 14
    assert st.MACD().warmup == 33
    assert st.ADX(14).warmup == 27
    assert st.ADX(14).di_warmup == 14
    assert st.Stoch(14, 3, 3).warmup == 17
    assert st.Keltner(20, 2.0, 10).warmup == 19
    assert st.Keltner(5, 2.0, 10).warmup == 10
