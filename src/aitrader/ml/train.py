"""Walk-forward training: fit per fold on the past, score on the next block, ship the latest fold's model.

Why ship the latest fold's model instead of refitting on everything: its validation metrics are then
the honest out-of-sample numbers of the very object in the registry, and "does the new model beat the
current one on the latest out-of-sample fold" compares like with like. The cost is the last fold's
data (the most recent ~1/(n_folds+1) of history) not being in the training set until the next
retrain, which schedules make frequent anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.errors import DataError
from aitrader.ml import metrics
from aitrader.ml.dataset import Dataset, build_dataset
from aitrader.ml.features import FeatureSpec, compute
from aitrader.ml.labels import LabelSpec, make_labels
from aitrader.ml.models import ModelKind, make_model
from aitrader.ml.splits import Fold, walk_forward

Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class TrainSpec:
    features: FeatureSpec = field(default_factory=FeatureSpec)
    labels: LabelSpec = field(default_factory=LabelSpec)
    model: ModelKind = "hgb"
    n_folds: int = 4
    embargo_bars: int = 12
    purge_bars: int = 0  # extra purge margin; cards written before it existed load with 0
    threshold: float = 0.55
    max_iter: int = 200
    seed: int = 0
    threads: int = 1  # OpenMP threads; 1 by default: oversubscribed spin-waiting is far slower on a busy host

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainSpec:
        f = dict(d["features"])
        for k in ("return_bars", "higher_timeframes", "higher_return_bars"):
            f[k] = tuple(f[k])
        rest = {k: v for k, v in d.items() if k not in ("features", "labels")}
        return cls(features=FeatureSpec(**f), labels=LabelSpec(**d["labels"]), **rest)


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    fold: Fold
    model: Pipeline
    p_test: FloatArray
    metrics: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TrainResult:
    model: Pipeline
    spec: TrainSpec
    dataset: Dataset
    folds: list[FoldOutcome]
    validation: dict[str, Any]  # metrics of the shipped model on the latest fold
    importances: dict[str, float]

    @property
    def latest(self) -> FoldOutcome:
        return self.folds[-1]


def _noop(stage: str, frac: float) -> None:
    pass


def predict_proba(model: Pipeline, X: FloatArray) -> FloatArray:
    """P(win) per row (class 1)."""
    return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def fit_fold(ds: Dataset, fold: Fold, spec: TrainSpec) -> FoldOutcome:
    """Fit on the fold's training rows only, predict its test rows."""
    model = make_model(spec.model, max_iter=spec.max_iter, seed=spec.seed)
    ytr = ds.y[fold.train]
    if len(np.unique(ytr)) < 2:
        raise DataError(f"fold {fold.k}: training labels are all {int(ytr[0])}; need wins and losses")
    model.fit(ds.X[fold.train], ytr)
    p = predict_proba(model, ds.X[fold.test])
    return FoldOutcome(fold, model, p, metrics.evaluate(ds.y[fold.test], p, spec.threshold))


def train(
    candles: Mapping[str, OHLCV], timeframe_ms: int, spec: TrainSpec, progress: Progress = _noop
) -> TrainResult:
    with threadpool_limits(spec.threads):
        return _train(candles, timeframe_ms, spec, progress)


def _train(
    candles: Mapping[str, OHLCV], timeframe_ms: int, spec: TrainSpec, progress: Progress
) -> TrainResult:
    progress("features", 0.0)
    ds = build_dataset(candles, timeframe_ms, spec.features, spec.labels)
    progress("features", 1.0)
    folds = walk_forward(
        ds.decided_ms,
        ds.known_ms,
        spec.n_folds,
        spec.embargo_bars * timeframe_ms,
        purge_ms=spec.purge_bars * timeframe_ms,
    )
    if not folds:
        raise DataError(f"too little data for {spec.n_folds} walk-forward folds ({len(ds)} labelled samples)")
    outcomes = []
    progress("folds", 0.0)  # fitting starts (the retraining tests wait for this line)
    for j, fold in enumerate(folds):
        outcomes.append(fit_fold(ds, fold, spec))
        progress("folds", (j + 1) / len(folds))
    latest = outcomes[-1]
    imp = metrics.importances(latest.model, ds.X[latest.fold.test], ds.y[latest.fold.test], ds.feature_names)
    progress("importance", 1.0)
    return TrainResult(latest.model, spec, ds, outcomes, latest.metrics, imp)


def score_window(
    model: Pipeline,
    features: FeatureSpec,
    candles: Mapping[str, OHLCV],
    timeframe_ms: int,
    labels: LabelSpec,
    start_ms: int,
    end_ms: int,
) -> float:
    """AUC of `model` (with ITS feature spec) on samples decided in [start_ms, end_ms) (promotion check)."""
    ys, ps = [], []
    for c in candles.values():
        lab = make_labels(c, labels)
        close = c.ts + timeframe_ms
        rows = np.flatnonzero(~np.isnan(lab.y) & (close >= start_ms) & (close < end_ms))
        if len(rows) == 0:
            continue
        fm = compute(c, features, timeframe_ms=timeframe_ms)
        ys.append(lab.y[rows])
        ps.append(predict_proba(model, fm.values[rows]))
    if not ys:
        return math.nan
    return metrics.auc(np.concatenate(ys), np.concatenate(ps))
