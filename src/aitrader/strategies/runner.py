"""Running strategies under a time budget, with runtime and timeout metrics.

A live loop must not stall because one strategy is slow. Each strategy is timed; one that takes
longer than `budget_ms` is counted as a timeout in `aitrader_strategy_timeouts_total{strategy}` and
its signals are DROPPED for that call (its slot in the result is None), as if it had said nothing.
Every run is observed in `aitrader_strategy_runtime_seconds{strategy}`.

Two ways to enforce the budget:

* inline (default, backtests): the strategy runs to completion on the caller's thread and is dropped
  afterwards if it overran. Deterministic, no threads; wasted time is bounded by the slow call.
* `threaded=True`: the strategy runs on a worker thread (`strategies.pool`) and the caller stops
  waiting at the budget. Python cannot kill a thread, so an overrunning computation finishes in the
  background and its result is discarded; the small pool bounds how many such stragglers pile up.
  The live path does the same per candle for strategies without a streamer (`WindowedStream`).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.metrics import STRATEGY_RUNTIME_SECONDS, STRATEGY_TIMEOUTS
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.pool import strategy_pool
from aitrader.strategies.timeframes import informative_for


@dataclass(frozen=True, slots=True)
class RunResult:
    """Per input strategy, in input order: its signals (None when timed out) and wall time."""

    signals: tuple[Signals | None, ...]
    runtimes_s: tuple[float, ...]
    timed_out: tuple[str, ...]


def _checked(strategy: Strategy, sig: Signals, n: int) -> Signals:
    if not isinstance(sig, Signals) or len(sig) != n:
        got = f"{len(sig)} rows" if isinstance(sig, Signals) else type(sig).__name__
        raise StrategyError(f"strategy {strategy.name} returned {got}, expected Signals for {n} candles")
    return sig


def run_strategies(
    strategies: Sequence[Strategy],
    candles: OHLCV,
    informative: Mapping[str, OHLCV] | None = None,
    budget_ms: float | None = None,
    *,
    threaded: bool = False,
    timeframe: str | int | None = None,
) -> RunResult:
    """Compute every strategy's signals; over-budget ones are recorded as timeouts and dropped.

    Higher timeframes a strategy declares (`informative_timeframes`) and `informative` does not
    hold are resampled from `candles` (`timeframes.informative_for`; `timeframe` is the candles'
    own, inferred when None), once per timeframe for all strategies.
    """
    inf: Mapping[str, OHLCV] | None = informative
    for strategy in strategies:
        if strategy.informative_timeframes:
            inf = informative_for(
                strategy.informative_timeframes, candles, inf, timeframe, f"strategy {strategy.name}"
            )
    out: list[Signals | None] = []
    runtimes: list[float] = []
    timed_out: list[str] = []
    budget_s = None if budget_ms is None else budget_ms / 1000.0
    for strategy in strategies:
        t0 = time.perf_counter()
        sig: Signals | None
        if threaded and budget_s is not None:
            future = strategy_pool().submit(contextvars.copy_context().run, strategy.compute, candles, inf)
            try:
                sig = future.result(timeout=budget_s)
            except FutureTimeout:
                sig = None
        else:
            sig = strategy.compute(candles, inf)
        elapsed = time.perf_counter() - t0
        STRATEGY_RUNTIME_SECONDS.labels(strategy=strategy.name).observe(elapsed)
        if sig is None or (budget_s is not None and elapsed > budget_s):
            STRATEGY_TIMEOUTS.labels(strategy=strategy.name).inc()
            timed_out.append(strategy.name)
            out.append(None)
        else:
            out.append(_checked(strategy, sig, len(candles)))
        runtimes.append(elapsed)
    return RunResult(tuple(out), tuple(runtimes), tuple(timed_out))
