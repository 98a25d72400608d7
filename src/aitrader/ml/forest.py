"""A fitted HistGradientBoostingClassifier (after its StandardScaler) as flat arrays + one numba loop.

Why: scikit-learn's `predict_proba` on ONE row costs ~0.2 ms of input validation and per-tree Python
calls when the machine is idle and ~9 ms when it is loaded (every tree is a separate OpenMP region),
while the gate's budget for a whole decision is 2 ms. The trees themselves are ~200 x 15 leaves:
walking them is microseconds. `compile_forest` copies the fitted nodes (`_predictors`: feature_idx,
num_threshold, missing_go_to_left, left/right, is_leaf, value) into contiguous arrays with absolute
child indices, and `CompiledForest.predict` evaluates rows with scikit-learn's raw-data rules (see
`_forest_kernels.forest_proba`). Tests prove it equal to `predict_proba` within 1e-12 on real
features and on Hypothesis rows (NaN, infinities, values exactly at split thresholds).

Anything it cannot reproduce exactly (categorical splits, multi-class, LightGBM, other pipeline
steps) gives None, and the caller keeps scikit-learn's `predict_proba`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from aitrader.core.candles import FloatArray
from aitrader.ml import _forest_kernels as K


@dataclass(frozen=True, slots=True, eq=False)
class CompiledForest:
    """Flat node arrays of every tree, trees in fit order; `roots[t]` is tree t's first node."""

    n_features: int
    mean: FloatArray
    scale: FloatArray
    feature: K.I64
    threshold: FloatArray
    missing_left: K.U8
    left: K.I64
    right: K.I64
    is_leaf: K.U8
    value: FloatArray
    roots: K.I64
    baseline: float

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def predict(self, X: FloatArray) -> FloatArray:
        """P(class 1) per row of X (n, n_features): `predict_proba(X)[:, 1]`."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        out = np.empty(X.shape[0])
        K.forest_proba(
            X,
            self.mean,
            self.scale,
            self.feature,
            self.threshold,
            self.missing_left,
            self.left,
            self.right,
            self.is_leaf,
            self.value,
            self.roots,
            self.baseline,
            out,
        )
        return out

    def warm_up(self) -> None:
        """Compile (or load from numba's disk cache) now, not on the first live decision."""
        self.predict(np.full((1, self.n_features), np.nan))


def _scaler_arrays(steps: list[object], n: int) -> tuple[FloatArray, FloatArray] | None:
    mean, scale = np.zeros(n), np.ones(n)  # x - 0.0 and x / 1.0 are exact: "no scaling"
    if not steps:
        return mean, scale
    if len(steps) > 1 or not isinstance(steps[0], StandardScaler):
        return None
    s = steps[0]
    if s.with_mean:
        mean = np.ascontiguousarray(s.mean_, dtype=np.float64)
    if s.with_std:
        scale = np.ascontiguousarray(s.scale_, dtype=np.float64)
    return mean, scale


def compile_forest(model: object) -> CompiledForest | None:
    """The fast evaluator of a fitted [StandardScaler ->] HistGradientBoostingClassifier, else None."""
    steps = [s for _, s in model.steps] if isinstance(model, Pipeline) else [model]
    clf = steps[-1]
    if not isinstance(clf, HistGradientBoostingClassifier) or not hasattr(clf, "_predictors"):
        return None
    if clf.n_trees_per_iteration_ != 1:
        return None  # multi-class: one raw score per class, softmax link
    n = int(clf.n_features_in_)
    scaling = _scaler_arrays(steps[:-1], n)
    if scaling is None:
        return None
    trees = [it[0].nodes for it in clf._predictors]
    if not trees or any(t["is_categorical"].any() for t in trees):
        return None
    sizes = np.array([len(t) for t in trees], dtype=np.int64)
    roots = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    nodes = np.concatenate(trees)
    offset = np.repeat(roots, sizes)
    leaf = nodes["is_leaf"].astype(np.uint8)
    # leaves keep child index 0 + offset; never read, but stay in bounds
    return CompiledForest(
        n_features=n,
        mean=scaling[0],
        scale=scaling[1],
        feature=np.ascontiguousarray(nodes["feature_idx"], dtype=np.int64),
        threshold=np.ascontiguousarray(nodes["num_threshold"], dtype=np.float64),
        missing_left=np.ascontiguousarray(nodes["missing_go_to_left"], dtype=np.uint8),
        left=nodes["left"].astype(np.int64) + offset,
        right=nodes["right"].astype(np.int64) + offset,
        is_leaf=leaf,
        value=np.ascontiguousarray(nodes["value"], dtype=np.float64),
        roots=roots,
        baseline=float(np.asarray(clf._baseline_prediction).ravel()[0]),
    )
