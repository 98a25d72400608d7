"""Time budget: slow strategies are dropped and counted; fast ones pass through unchanged."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.metrics import REGISTRY
from aitrader.strategies import Signals, Strategy, registry
from aitrader.strategies.runner import run_strategies


class Sleepy(Strategy):
    name = "sleepy_test"
    description = "sleeps 50 ms, then says nothing"

    @property
    def warmup(self) -> int:
        return 0

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        time.sleep(0.05)
        return Signals.none(len(candles))


def _value(metric: str, strategy: str) -> float:
    v = REGISTRY.get_sample_value(metric, {"strategy": strategy})
    return 0.0 if v is None else v


def test_budget_drops_and_counts(btc5m: OHLCV) -> None:
    fast = registry.create("ema_cross")
    before_t = _value("aitrader_strategy_timeouts_total", "sleepy_test")
    before_n = _value("aitrader_strategy_runtime_seconds_count", "ema_cross")
    res = run_strategies([fast, Sleepy()], btc5m, budget_ms=20)
    assert res.signals[1] is None and res.timed_out == ("sleepy_test",)
    assert res.signals[0] is not None
    np.testing.assert_array_equal(res.signals[0].direction, fast.compute(btc5m).direction)
    assert res.runtimes_s[1] >= 0.05
    assert _value("aitrader_strategy_timeouts_total", "sleepy_test") == before_t + 1
    assert _value("aitrader_strategy_runtime_seconds_count", "ema_cross") == before_n + 1


def test_threaded_mode_returns_at_the_budget(btc5m: OHLCV) -> None:
    t0 = time.perf_counter()
    res = run_strategies([Sleepy()], btc5m, budget_ms=10, threaded=True)
    assert time.perf_counter() - t0 < 0.045  # did not wait for the 50 ms sleep
    assert res.timed_out == ("sleepy_test",)


def test_no_budget_never_times_out(btc5m: OHLCV) -> None:
    res = run_strategies([Sleepy()], btc5m.slice(0, 100))
    assert res.timed_out == () and res.signals[0] is not None
