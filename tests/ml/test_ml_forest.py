"""The compiled tree evaluator equals scikit-learn's predict_proba (1e-12; in practice bit for bit)
on real feature rows, on Hypothesis rows (NaN, infinities, values exactly at and next to split
thresholds), and declines (None) what it cannot reproduce."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ml_helpers import TF_MS, Env
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from aitrader.ml.features import compute
from aitrader.ml.forest import CompiledForest, compile_forest
from aitrader.ml.gate import MLGate
from aitrader.ml.registry import LoadedModel
from aitrader.ml.train import predict_proba


@pytest.fixture(scope="module")
def bare(ml_env: Env) -> tuple[HistGradientBoostingClassifier, CompiledForest]:
    """An unscaled classifier on the real training rows, so Hypothesis can hit thresholds exactly."""
    ds = ml_env.result.dataset
    clf = HistGradientBoostingClassifier(max_iter=25, max_leaf_nodes=15, random_state=0)
    clf.fit(ds.X, ds.y)
    forest = compile_forest(clf)
    assert forest is not None
    return clf, forest


def _proba(model: object, X: np.ndarray) -> np.ndarray:
    """sklearn on one OpenMP thread: its default team spin-waits for ~100 ms on the shared host."""
    with threadpool_limits(1):
        return np.asarray(model.predict_proba(X)[:, 1])  # type: ignore[attr-defined]


def test_equals_predict_proba_on_real_features(ml_env: Env) -> None:
    forest = compile_forest(ml_env.result.model)
    assert forest is not None and forest.n_trees == ml_env.result.spec.max_iter
    for c in ml_env.candles.values():
        X = compute(c, timeframe_ms=TF_MS).values
        assert np.isnan(X[:300]).any() and not np.isnan(X[-1]).any()  # warm-up rows exercise NaN
        want = predict_proba(ml_env.result.model, X)
        got = forest.predict(X)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert want.std() > 0.01  # a model that says something, not a constant
        for i in (0, 500, len(X) - 1):  # one row at a time, the gate's call
            assert abs(forest.predict(X[i : i + 1])[0] - want[i]) <= 1e-12


def _cell(thresholds: list[float]) -> st.SearchStrategy[float]:
    at = st.sampled_from(thresholds)
    return st.one_of(
        st.just(np.nan),
        st.sampled_from([np.inf, -np.inf, 0.0, -0.0]),
        at,
        at.map(lambda t: float(np.nextafter(t, np.inf))),
        at.map(lambda t: float(np.nextafter(t, -np.inf))),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
    )


@pytest.fixture(scope="module")
def rows(bare: tuple[HistGradientBoostingClassifier, CompiledForest]) -> st.SearchStrategy[np.ndarray]:
    """1-4 rows; each cell NaN, +-inf, +-0, a split threshold of its feature, one ulp either side of
    one, or any float."""
    forest = bare[1]
    splits = ~forest.is_leaf.astype(bool)
    cells = [
        _cell(sorted(set(forest.threshold[splits & (forest.feature == j)].tolist())) or [0.0])
        for j in range(forest.n_features)
    ]
    return st.lists(st.tuples(*cells), min_size=1, max_size=4).map(np.array)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_equals_predict_proba_on_hypothesis_rows(
    data: st.DataObject,
    bare: tuple[HistGradientBoostingClassifier, CompiledForest],
    rows: st.SearchStrategy[np.ndarray],
) -> None:
    clf, forest = bare
    X = data.draw(rows)
    np.testing.assert_allclose(forest.predict(X), _proba(clf, X), rtol=0, atol=1e-12)


def test_ties_and_missing_follow_the_learned_side(
    bare: tuple[HistGradientBoostingClassifier, CompiledForest],
) -> None:
    """A row sitting exactly on the first tree's root split and one ulp above it reach different
    leaves (so the `<=` is really tested), and NaN follows each node's learned side, as sklearn."""
    clf, forest = bare
    root = int(forest.roots[0])
    f, t = int(forest.feature[root]), float(forest.threshold[root])
    rows = np.zeros((3, forest.n_features))
    rows[:, f] = [t, np.nextafter(t, np.inf), np.nan]
    got, want = forest.predict(rows), _proba(clf, rows)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert got[0] != got[1]


def test_declines_what_it_cannot_reproduce(ml_env: Env) -> None:
    ds = ml_env.result.dataset
    X, y = ds.X[:3000], ds.y[:3000]
    three = np.digitize(X[:, 0], np.nanquantile(X[:, 0], [0.33, 0.66]))
    multi = HistGradientBoostingClassifier(max_iter=3).fit(X, three)
    hour = np.nan_to_num(np.round((X[:, -2] + 1) * 5)).astype(int)  # a small categorical column
    cat = HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(np.c_[hour, X[:, 1:]], y)
    clf = HistGradientBoostingClassifier(max_iter=3)
    two_steps = Pipeline([("a", StandardScaler()), ("b", StandardScaler()), ("clf", clf)]).fit(X, y)
    assert compile_forest(multi) is None
    assert compile_forest(cat) is None
    assert compile_forest(two_steps) is None
    assert compile_forest(HistGradientBoostingClassifier()) is None  # not fitted
    # the gate then falls back to the model's own predict_proba, with the same answers
    gate = MLGate.with_model(
        LoadedModel("v9", two_steps, ml_env.result.spec, {}), threshold=0.5, timeframe_ms=TF_MS
    )
    c = ml_env.candles["ETH/BTC"]
    assert not gate.compiled
    p, _ = gate.probability(c)
    want = _proba(two_steps, compute(c, timeframe_ms=TF_MS).values[-1:])[0]
    assert p == pytest.approx(want, abs=1e-12)
