"""Walk-forward hyper-optimisation of one strategy's declared parameters with optuna.

Why walk-forward: a best-of-N search over one period measures luck as much as skill. The candles are
cut into `folds + 1` consecutive blocks; fold k optimises on block k (in-sample) and scores the best
parameters once on block k+1 (out-of-sample), which the search never saw. Both scores are reported;
an out-of-sample score far below the in-sample one says the parameters were fitted to noise.

Each fold is its own optuna study (`<study>-wf<k>`), so several processes given the same `storage`
URL and study name cooperate on the same folds (optuna coordinates through the database); the total
number of trials per fold is capped at `trials` across all of them.

Scoring uses the reference mode (fixed stake, next-open fills, fees, no stops) over all given pairs:
it is vectorised, so a trial costs milliseconds. Objectives: `sharpe`, `calmar` (per-candle equity,
annualised as in backtest.metrics) or `profit` (sum of trade PnL). A block without trades scores 0
profit, and -1e9 for the ratios (undefined there), so optuna never sees NaN.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from aitrader.backtest.equity import equity_curve
from aitrader.backtest.metrics import summary
from aitrader.backtest.reference import reference_trades
from aitrader.backtest.trades import TradeTable
from aitrader.core.candles import OHLCV
from aitrader.core.errors import AitraderError, StrategyError
from aitrader.core.time import timeframe_to_ms
from aitrader.strategies import registry
from aitrader.strategies.params import Param

Objective = Literal["sharpe", "calmar", "profit"]
WORST = -1e9


@dataclass(frozen=True, slots=True)
class FoldResult:
    fold: int
    in_sample: tuple[int, int]  # (start ms, end ms)
    out_of_sample: tuple[int, int]
    best_params: dict[str, Any]
    in_sample_score: float
    out_of_sample_score: float
    trials: int


@dataclass(frozen=True, slots=True)
class HyperoptResult:
    strategy: str
    objective: str
    folds: list[FoldResult]

    @property
    def mean_in_sample(self) -> float:
        return float(np.mean([f.in_sample_score for f in self.folds]))

    @property
    def mean_out_of_sample(self) -> float:
        return float(np.mean([f.out_of_sample_score for f in self.folds]))


def score(
    strategy_name: str,
    params: Mapping[str, Any],
    candles: Mapping[str, OHLCV],
    timeframe: str,
    objective: Objective,
    stake: float = 1000.0,
    fee: float = 0.001,
) -> float:
    """The objective of one parameter set over `candles` (reference mode, all pairs together)."""
    strategy = registry.create(strategy_name, dict(params))
    tables = []
    for pair, c in candles.items():
        if len(c) <= strategy.warmup + 1:
            continue
        sig = strategy.compute(c)
        tables.append(reference_trades(c, sig.direction, stake, fee, pair, strategy_name))
    trades = TradeTable.concat(tables)
    if objective == "profit":
        return float(trades.pnl.sum())
    if len(trades) == 0:
        return WORST
    balance = stake * max(1, len(candles))
    s = summary(trades, equity_curve(trades, candles, balance), timeframe_to_ms(timeframe))
    value = s[objective]
    return float(value) if value is not None and np.isfinite(value) else WORST


def suggest(trial: Any, p: Param) -> Any:
    """An optuna suggestion inside the parameter's declared range."""
    if p.kind == "int":
        if p.low is None or p.high is None:
            raise StrategyError(f"parameter {p.name} has no range to optimise over")
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step or 1))
    if p.kind == "float":
        if p.low is None or p.high is None:
            raise StrategyError(f"parameter {p.name} has no range to optimise over")
        return trial.suggest_float(p.name, float(p.low), float(p.high), step=p.step)
    if p.kind == "bool":
        return trial.suggest_categorical(p.name, [False, True])
    return trial.suggest_categorical(p.name, list(p.choices))


def split_folds(candles: Mapping[str, OHLCV], folds: int) -> list[tuple[int, int, int]]:
    """(in-sample start, boundary, out-of-sample end) in ms for each fold, on the common time span."""
    if folds < 1:
        raise AitraderError("--folds must be at least 1")
    start = min(int(c.ts[0]) for c in candles.values() if len(c))
    end = max(int(c.ts[-1]) for c in candles.values() if len(c)) + 1
    edges = np.linspace(start, end, folds + 2).astype(np.int64)
    return [(int(edges[k]), int(edges[k + 1]), int(edges[k + 2])) for k in range(folds)]


def _cut(candles: Mapping[str, OHLCV], a: int, b: int) -> dict[str, OHLCV]:
    return {p: c.between(a, b) for p, c in candles.items()}


def run_hyperopt(
    strategy_name: str,
    candles: Mapping[str, OHLCV],
    timeframe: str,
    *,
    trials: int,
    objective: Objective,
    folds: int = 3,
    jobs: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int | None = None,
    stake: float = 1000.0,
    fee: float = 0.001,
    on_trial: Callable[[int, int], None] | None = None,
    settle_timeout_s: float = 300.0,
) -> HyperoptResult:
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    declared = list(registry.get(strategy_name).params)
    if not declared:
        raise StrategyError(f"strategy {strategy_name} declares no parameters to optimise")
    name = study_name or f"aitrader-{strategy_name}-{objective}"
    results = []
    for k, (a, b, c) in enumerate(split_folds(candles, folds)):
        ins, oos = _cut(candles, a, b), _cut(candles, b, c)

        def objective_fn(trial: Any, ins: dict[str, OHLCV] = ins) -> float:
            params = {p.name: suggest(trial, p) for p in declared}
            trial.set_user_attr("pid", os.getpid())
            try:
                return score(strategy_name, params, ins, timeframe, objective, stake, fee)
            except StrategyError as e:  # e.g. fast >= slow: an invalid combination, not a crash
                raise optuna.TrialPruned(str(e)) from None

        sampler = optuna.samplers.TPESampler(seed=None if seed is None else seed + k)
        study = _create_study(optuna, f"{name}-wf{k}", storage, sampler)
        cap = MaxTrialsCallback(trials, states=(TrialState.COMPLETE, TrialState.PRUNED))
        done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        if done < trials:
            study.optimize(objective_fn, n_trials=trials - done, n_jobs=jobs, callbacks=[cap])
        if storage is not None:
            _wait_for_peers(study, TrialState.RUNNING, settle_timeout_s)
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            raise StrategyError(f"fold {k}: no valid parameter set among {trials} trials")
        best = study.best_trial
        results.append(
            FoldResult(
                fold=k,
                in_sample=(a, b),
                out_of_sample=(b, c),
                best_params=dict(best.params),
                in_sample_score=float(best.value if best.value is not None else WORST),
                out_of_sample_score=score(strategy_name, best.params, oos, timeframe, objective, stake, fee),
                trials=len(study.get_trials(deepcopy=False)),
            )
        )
        if on_trial is not None:
            on_trial(k + 1, folds)
    return HyperoptResult(strategy_name, objective, results)


def _wait_for_peers(study: Any, running: Any, timeout_s: float) -> None:
    """In a shared study, wait for trials other processes still have in flight before reading the
    best one: otherwise the first process to stop reports the best of a study that is not finished
    and two processes of one run disagree. A peer that died leaves its trial RUNNING for ever, so
    the wait is bounded; past it we report what is finished."""
    deadline = time.monotonic() + timeout_s
    while study.get_trials(deepcopy=False, states=(running,)):
        if time.monotonic() >= deadline:
            return
        time.sleep(0.2)


def _create_study(optuna: Any, name: str, storage: str | None, sampler: Any) -> Any:
    """Create or join a study. Processes starting together on a fresh database race to create
    optuna's tables and the study row; the loser's error is transient, so retry a few times."""
    for attempt in range(5):
        try:
            return optuna.create_study(
                study_name=name, storage=storage, direction="maximize", load_if_exists=True, sampler=sampler
            )
        except Exception:
            if storage is None or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def delete_studies(storage: str, study_name: str, folds: int) -> None:
    """Remove the per-fold studies (tests and re-runs from scratch)."""
    import optuna

    for k in range(folds):
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=f"{study_name}-wf{k}", storage=storage)
