"""The streaming confluence equals `Confluence.evaluate` on Hypothesis-made random walks.

Continuous random walks (see tests/strategies/test_streaming_strategies_walks.py for why not tick
lattices), random weights, thresholds and regime windows short enough that trending, ranging and
volatile bars all occur within a few hundred candles; half the runs with a 1h higher timeframe.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs
from test_streaming_confluence import BUILTINS, assert_same, run_stream

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence, RegimeParams
from aitrader.core.candles import OHLCV
from aitrader.strategies import registry
from aitrader.strategies.timeframes import resample


@hs.composite
def walks(draw: hs.DrawFn) -> OHLCV:
    n = draw(hs.integers(2, 500))
    rng = np.random.default_rng(draw(hs.integers(0, 2**32 - 1)))
    level = draw(hs.sampled_from([3e-5, 1.0, 17_000.0]))
    vol = draw(hs.sampled_from([1e-3, 1e-2]))
    drift = draw(hs.sampled_from([0.0, 3e-3]))  # a trend now and then, so ADX says trending
    close = level * np.exp(np.cumsum(rng.normal(drift * np.sin(np.arange(n) / 60.0), vol, n)))
    open_ = np.r_[close[:1], close[:-1]]
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, vol, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, vol, n)))
    volume = rng.exponential(1.0, n) * (rng.random(n) >= 0.1)
    ts = 1_600_000_000_000 + 300_000 * draw(hs.integers(0, 20)) + np.arange(n) * 300_000
    return OHLCV.from_arrays(ts, open_, high, low, close, volume)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candles=walks(),
    weights=hs.lists(hs.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=7, max_size=7),
    min_conf=hs.sampled_from([0.1, 0.35, 0.8]),
    vol_window=hs.integers(5, 60),
    with_higher=hs.booleans(),
)
def test_stream_equals_evaluate_on_random_walks(
    candles: OHLCV, weights: list[float], min_conf: float, vol_window: int, with_higher: bool
) -> None:
    conf = Confluence(
        ConfluenceConfig(min_confidence=min_conf, atr_period=10),
        [(registry.create(n), w) for n, w in zip(BUILTINS, weights, strict=True)],
        regime=RegimeParams(adx_period=8, vol_window=vol_window, vol_percentile=0.8),
    )
    higher = resample(candles, "1h") if with_higher else None
    h_tf = "1h" if with_higher else None
    frame = conf.evaluate("BTC/USDT", candles, higher, h_tf, timeframe=300_000)
    got = run_stream(conf, candles, higher, h_tf)
    for i, d in enumerate(got):
        assert_same(d, frame.decision_at(i), i)
