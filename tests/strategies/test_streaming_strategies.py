"""Streamers equal `compute` bar by bar: every built-in, on real candles, with default and other params.

Feeding candles one at a time must reproduce row t of the vectorised signals computed over all
candles: direction exactly, strength/stop/take within 1e-9 relative (NaN where the vectorised is NaN).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from aitrader.core.candles import OHLCV, Candle
from aitrader.indicators import donchian
from aitrader.strategies import Signals, Strategy, registry
from aitrader.strategies.events import became_true, shift
from aitrader.strategies.sample import load_ohlcv_csv, sample_path
from aitrader.strategies.streaming import QUIET, Cross, Edge, WindowedStream, emit

FILES = [
    "binance_BTC_USDT_USDT-5m-futures.csv",  # large prices, 11k bars
    "bittrex_UNITTEST_BTC-1m.csv",  # gaps, flat candles, zero volume
    "bittrex_ADA_BTC-5m.csv",  # prices ~5e-5
    "binance_XRP_USDT_USDT-8h-futures.csv",  # 91 bars: warm-up dominates
]
BUILTINS = (
    "ema_cross",
    "trend_adx",
    "mean_reversion",
    "macd_momentum",
    "donchian_breakout",
    "vwap_reversion",
    "squeeze",
)
# a second parameter set per built-in: short periods fire often and move every warm-up boundary
OTHER_PARAMS: dict[str, dict[str, Any]] = {
    "ema_cross": {"fast": 3, "slow": 7},
    "trend_adx": {"fast": 5, "slow": 15, "adx_period": 6, "adx_min": 18.0, "swing": 3},
    "mean_reversion": {"bb_period": 8, "bb_k": 1.2, "rsi_period": 5, "rsi_low": 40.0, "rsi_high": 60.0},
    "macd_momentum": {"fast": 4, "slow": 9, "signal": 3},
    "donchian_breakout": {"period": 6, "vol_period": 9, "vol_mult": 1.1},
    "vwap_reversion": {"dev_period": 15, "k": 1.3, "anchor_hours": 4},
    "squeeze": {"bb_period": 10, "kc_period": 12, "kc_mult": 1.0, "kc_atr": 5, "min_bars": 2},
}


def candles_of(c: OHLCV) -> list[Candle]:
    cols = [a.tolist() for a in (c.ts, c.open, c.high, c.low, c.close, c.volume)]
    return [Candle(*row) for row in zip(*cols, strict=True)]


def streamed(strategy: Strategy, c: OHLCV) -> Signals:
    stream = strategy.streamer()
    out = [stream.update(x) for x in candles_of(c)]
    return Signals(
        np.array([o.direction for o in out], dtype=np.int8),
        np.array([o.strength for o in out]),
        np.array([o.stop for o in out]),
        np.array([o.take for o in out]),
    )


def assert_same_signals(got: Signals, ref: Signals) -> None:
    bad = np.flatnonzero(got.direction != ref.direction)
    assert len(bad) == 0, f"direction differs at bars {bad[:10].tolist()}"
    for name in ("strength", "stop", "take"):
        a, b = getattr(got, name), getattr(ref, name)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-9, atol=0, err_msg=name)


@pytest.fixture(scope="module", params=FILES)
def real(request: pytest.FixtureRequest) -> OHLCV:
    c = load_ohlcv_csv(sample_path(request.param))
    return c.slice(0, 6000)  # enough for every event kind; keeps the shared machine free


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_streamer_equals_compute_on_real_data(name: str, real: OHLCV) -> None:
    for params in ({}, OTHER_PARAMS[name]):
        strategy = registry.create(name, params)
        ref = strategy.compute(real)
        got = streamed(strategy, real)
        assert_same_signals(got, ref)
        if len(real) > 1000:  # not vacuous: both ways fire, with hints where the strategy gives them
            assert (ref.direction > 0).sum() > 5 and (ref.direction < 0).sum() > 5, (name, params)


def test_every_builtin_has_its_own_o1_streamer() -> None:
    assert set(BUILTINS) <= set(registry.available())
    for name in BUILTINS:
        stream = registry.create(name).streamer()
        assert not isinstance(stream, WindowedStream), name
        assert type(stream).__module__ == f"aitrader.strategies.streams.{name}"


class PriorHighBreak(Strategy):
    """A user strategy without a streamer: close above the previous 5-bar high, with a volume edge."""

    name = "prior_high_break"
    description = "close above the prior 5-bar high"

    @property
    def warmup(self) -> int:
        return 6

    @property
    def history(self) -> int:
        return 8  # finite window: exact with 8 trailing bars

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        upper, mid, lower = (shift(x) for x in donchian(candles.high, candles.low, 5))
        defined = ~np.isnan(upper)
        with np.errstate(invalid="ignore"):
            up = became_true(candles.close > upper, defined)
            down = became_true(candles.close < lower, defined)
        return Signals.from_events(up, down, strength=np.full(len(candles), 0.7), stop=mid)


def test_strategy_without_streamer_falls_back_to_the_trailing_window(real: OHLCV) -> None:
    strategy = PriorHighBreak()
    assert isinstance(strategy.streamer(), WindowedStream)
    c = real.slice(0, 3000)
    ref = strategy.compute(c)
    assert_same_signals(streamed(strategy, c), ref)  # 3000 bars: the buffer of 16 compacts many times
    assert np.count_nonzero(ref.direction) > 10 or len(c) < 1000


def test_one_bar_helpers_follow_the_vectorised_event_rules() -> None:
    assert emit(True, True, 0.9, 1.0, 2.0) is QUIET  # both ways: no signal, hints dropped
    assert emit(True, False, float("nan")).strength == 0.0
    assert emit(False, True, 3.0).strength == 1.0 and emit(False, True, 3.0).direction == -1
    cross = Cross()
    assert cross.update(1.0, 2.0) == (False, False)  # no previous bar
    assert cross.update(2.0, 2.0) == (False, False)  # touching is not crossing
    assert cross.update(3.0, 2.0) == (True, False)  # previous <= and now >
    assert cross.update(float("nan"), 2.0) == (False, False)
    assert cross.update(1.0, 2.0) == (False, False)  # NaN on the previous bar
    edge = Edge()
    assert edge.update(True, True) is False  # previous bar undefined
    assert edge.update(True, True) is False  # already true
    assert edge.update(False, True) is False
    assert edge.update(True, True) is True
