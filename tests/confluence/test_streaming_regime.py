"""The streaming regime pieces equal their vectorised twins: PercentileRank and RegimeStream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from aitrader.confluence.regime import RegimeParams, classify
from aitrader.confluence.regime_stream import RegimeStream, divide
from aitrader.core.candles import OHLCV
from aitrader.indicators import atr, percentile_rank
from aitrader.indicators.streaming.rank import PercentileRank
from aitrader.strategies.sample import load_ohlcv_csv, sample_path


def _ranks(x: np.ndarray, window: int) -> np.ndarray:
    r = PercentileRank(window)
    return np.array([r.update(float(v)) for v in x])


@pytest.mark.parametrize("name", ["binance_BTC_USDT_USDT-5m-futures.csv", "bittrex_UNITTEST_BTC-1m.csv"])
def test_percentile_rank_of_real_atr_equals_vectorised(name: str) -> None:
    c = load_ohlcv_csv(sample_path(name)).slice(0, 6000)
    rel = atr(c.high, c.low, c.close, 14) / c.close
    ref = percentile_rank(rel, 200)
    got = _ranks(rel, 200)
    np.testing.assert_array_equal(got, ref)  # counts of comparisons: exactly equal
    assert np.nanmax(ref) == 1.0 and np.nanmin(ref) == 0.0


@settings(max_examples=150, deadline=None)
@given(
    xs=hs.lists(hs.sampled_from([0.0, 1.0, 2.0, 2.5, -1.0, float("nan"), 1e300]), max_size=60),
    lead=hs.integers(0, 4),
    window=hs.integers(2, 9),
)
def test_percentile_rank_ties_and_nan_equal_vectorised(xs: list[float], lead: int, window: int) -> None:
    x = np.array([np.nan] * lead + xs, dtype=np.float64)
    np.testing.assert_array_equal(_ranks(x, window), percentile_rank(x, window))


def test_regime_stream_equals_classify_bar_by_bar() -> None:
    c: OHLCV = load_ohlcv_csv(sample_path("bittrex_ADA_BTC-5m.csv"))
    params = RegimeParams(adx_period=10, vol_window=120, vol_percentile=0.8)
    ref = classify(c, params)
    stream = RegimeStream(params)
    hlc = zip(c.high.tolist(), c.low.tolist(), c.close.tolist(), strict=True)
    got = [stream.update(h, lo, cl) for h, lo, cl in hlc]
    np.testing.assert_array_equal([g.trend for g in got], ref.trend)
    np.testing.assert_array_equal([g.volatile for g in got], ref.volatile)
    np.testing.assert_allclose([g.adx for g in got], ref.adx, rtol=1e-9)
    np.testing.assert_array_equal([g.atr_rank for g in got], ref.atr_rank)
    for style in ("trend", "reversion", "neutral"):
        np.testing.assert_array_equal([g.multiplier(style) for g in got], ref.multiplier(style))
    assert [g.describe() for g in got[::97]] == [ref.describe(i) for i in range(0, len(c), 97)]
    assert ref.volatile.sum() > 100 and (ref.trend == 1).sum() > 100


def test_divide_follows_numpy() -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        for a, b in [(1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (0.0, 0.0), (float("nan"), 0.0), (3.0, 2.0)]:
            want = np.float64(a) / np.float64(b)
            got = divide(a, b)
            assert (np.isnan(want) and np.isnan(got)) or got == want, (a, b)
