"""One feature function for training and live: the live row equals the vectorised row, and no row
looks at later candles. Real Bittrex 5m candles (ADA/BTC has gaps, ETH/BTC has none)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.core.candles import OHLCV
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.ml.features import FeatureSpec, compute, compute_last

SAMPLE = Path(__file__).resolve().parents[2] / "src/aitrader/sample_data/ohlcv"


@pytest.mark.parametrize("name", ["bittrex_ETH_BTC-5m.csv", "bittrex_ADA_BTC-5m.csv"])
def test_live_row_equals_vectorised_row(name: str) -> None:
    c = read_ohlcv_csv(SAMPLE / name)
    full = compute(c, timeframe_ms=300_000).values
    spec = FeatureSpec()
    assert spec.window(300_000) < 1500  # the live window really is a trailing slice, not the history
    for end in (1200, 1777, 3001, 4410, len(c)):
        live = compute_last(c.slice(0, end), timeframe_ms=300_000)
        want = full[end - 1]
        assert np.array_equal(np.isnan(live), np.isnan(want))
        np.testing.assert_allclose(live, want, rtol=1e-9, atol=1e-12)
    assert not np.isnan(full[-1]).any()  # every feature is defined after warm-up


def test_rows_never_see_later_candles() -> None:
    c = read_ohlcv_csv(SAMPLE / "bittrex_ETH_BTC-5m.csv")
    base = compute(c, timeframe_ms=300_000).values
    cut = 3000
    rng = np.random.default_rng(7)
    f = rng.uniform(0.5, 1.5, len(c) - cut)
    changed = type(c).from_arrays(
        c.ts,
        np.r_[c.open[:cut], c.open[cut:] * f],
        np.r_[c.high[:cut], c.high[cut:] * f * 1.01],
        np.r_[c.low[:cut], c.low[cut:] * f * 0.99],
        np.r_[c.close[:cut], c.close[cut:] * f],
        np.r_[c.volume[:cut], c.volume[cut:] * f],
    )
    after = compute(changed, timeframe_ms=300_000).values
    np.testing.assert_array_equal(after[:cut], base[:cut])
    assert not np.allclose(after[cut:], base[cut:], equal_nan=True)


@pytest.mark.parametrize("name", ["bittrex_ETH_BTC-5m.csv", "bittrex_ADA_BTC-5m.csv"])
def test_live_row_equals_vectorised_row_at_many_ends(name: str) -> None:
    """Each feature group's short trailing window is enough, wherever the newest bar falls in its
    hour / 4h bucket (ADA/BTC's gaps skip whole hours)."""
    c = read_ohlcv_csv(SAMPLE / name)
    full = compute(c, timeframe_ms=300_000).values
    for end in np.random.default_rng(3).integers(2, len(c), 120):
        live = compute_last(c.slice(0, int(end)), timeframe_ms=300_000)
        np.testing.assert_allclose(live, full[end - 1], rtol=1e-9, atol=1e-12)


def test_higher_returns_equal_resample_and_align_closed() -> None:
    """The live-path arithmetic of higher-timeframe returns is `resample` + `align_closed`, bit for
    bit, on a series with gaps."""
    from aitrader.ml.features import _higher_returns
    from aitrader.strategies.timeframes import align_closed, resample

    c = read_ohlcv_csv(SAMPLE / "bittrex_ADA_BTC-5m.csv")
    assert np.diff(c.ts).max() > 12 * 300_000  # whole hours missing
    for tf in ("1h", "4h"):
        hi = resample(c, tf)
        idx = align_closed(c.ts, 300_000, hi, tf)
        for k, got in zip((1, 4), _higher_returns(c, 300_000, tf, (1, 4)), strict=True):
            want = np.full(len(c), np.nan)
            ok = idx >= k
            want[ok] = np.log(hi.close[idx[ok]] / hi.close[idx[ok] - k])
            np.testing.assert_array_equal(got, want)


@st.composite
def _series(draw: st.DrawFn) -> OHLCV:
    """A random walk with flat stretches (zero ranges, zero volume) and missing candles."""
    n = draw(st.integers(2, 1400))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    step = rng.choice([1, 1, 1, 1, 2, 13, 50], size=n)  # gaps of up to ~4 h
    ts = 1_514_764_800_000 + np.cumsum(step) * 300_000
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    flat = rng.random(n) < draw(st.sampled_from([0.0, 0.2, 0.9]))
    for i in np.flatnonzero(flat[1:]) + 1:
        close[i] = close[i - 1]  # a bar that did not trade
    spread = np.where(flat, 0.0, np.abs(rng.normal(0, 0.005, n)))
    open_ = np.r_[close[0], close[:-1]]
    open_[flat] = close[flat]
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    volume = np.where(flat, 0.0, rng.lognormal(0, 1, n))
    return OHLCV.from_arrays(ts, open_, high, low, close, volume)


@settings(max_examples=40, deadline=None)
@given(c=_series(), data=st.data())
def test_live_row_equals_vectorised_row_on_generated_series(c: OHLCV, data: st.DataObject) -> None:
    full = compute(c, timeframe_ms=300_000).values
    for end in {len(c), data.draw(st.integers(1, len(c)))}:
        live = compute_last(c.slice(0, end), timeframe_ms=300_000)
        np.testing.assert_allclose(live, full[end - 1], rtol=1e-9, atol=1e-12)
