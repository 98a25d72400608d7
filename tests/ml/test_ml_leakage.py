"""No leakage across walk-forward folds: changing every candle after a fold's end changes nothing in
that fold (training rows, labels, fitted scaler, predictions), while it does change the next fold (so
the perturbation is real), and a deliberately leaky scaler fitted on all data IS caught."""

from __future__ import annotations

import numpy as np
from ml_helpers import TF_MS, Env
from sklearn.preprocessing import StandardScaler

from aitrader.core.candles import OHLCV
from aitrader.ml.dataset import build_dataset
from aitrader.ml.splits import walk_forward
from aitrader.ml.train import TrainSpec, fit_fold

SPEC = TrainSpec(n_folds=3, max_iter=25)


def _perturb_after(c: OHLCV, t_ms: int, seed: int) -> OHLCV:
    """Scale prices and volume of every candle that closes at or after t_ms by random factors."""
    k = int(np.searchsorted(c.ts + TF_MS, t_ms, side="left"))
    rng = np.random.default_rng(seed)
    f, g = np.ones(len(c)), np.ones(len(c))
    f[k:] = rng.uniform(0.7, 1.3, len(c) - k)
    g[k:] = rng.uniform(0.1, 10.0, len(c) - k)
    return OHLCV.from_arrays(
        c.ts, c.open * f, c.high * f * g.clip(1, 1.01), c.low * f, c.close * f, c.volume * g
    )


def _folds(candles: dict[str, OHLCV]):  # type: ignore[no-untyped-def]
    ds = build_dataset(candles, TF_MS, SPEC.features, SPEC.labels)
    return ds, walk_forward(ds.decided_ms, ds.known_ms, SPEC.n_folds, SPEC.embargo_bars * TF_MS)


def test_changing_data_after_a_fold_changes_nothing_in_it(ml_env: Env) -> None:
    ds, folds = _folds(ml_env.candles)
    assert len(folds) == 3
    fold = folds[1]
    before = fit_fold(ds, fold, SPEC)

    changed = {p: _perturb_after(c, fold.end_ms, i) for i, (p, c) in enumerate(ml_env.candles.items())}
    ds2, folds2 = _folds(changed)
    f2 = folds2[1]
    after = fit_fold(ds2, f2, SPEC)

    np.testing.assert_array_equal(f2.train, fold.train)
    np.testing.assert_array_equal(f2.test, fold.test)
    np.testing.assert_array_equal(ds2.X[f2.train], ds.X[fold.train])
    np.testing.assert_array_equal(ds2.y[f2.train], ds.y[fold.train])
    np.testing.assert_array_equal(ds2.X[f2.test], ds.X[fold.test])
    s1, s2 = before.model.named_steps["scale"], after.model.named_steps["scale"]
    np.testing.assert_array_equal(s2.mean_, s1.mean_)
    np.testing.assert_array_equal(s2.scale_, s1.scale_)
    np.testing.assert_array_equal(after.p_test, before.p_test)

    # the perturbation is real: the next fold, which trains and tests on changed candles, moves
    nxt_before, nxt_after = fit_fold(ds, folds[2], SPEC), fit_fold(ds2, folds2[2], SPEC)
    assert not np.array_equal(nxt_after.p_test, nxt_before.p_test)

    # and the check catches leakage: a scaler fitted on ALL rows (the classic mistake) differs
    leaky1 = StandardScaler().fit(ds.X)
    leaky2 = StandardScaler().fit(ds2.X)
    assert not np.allclose(leaky1.mean_, leaky2.mean_, equal_nan=True)


def test_purge_and_embargo(ml_env: Env) -> None:
    ds = build_dataset(ml_env.candles, TF_MS, SPEC.features, SPEC.labels)
    horizon = SPEC.labels.horizon * TF_MS
    # purge alone (no embargo): an embargo as long as the label horizon drops the overlapping samples
    # by itself, which would hide a missing purge
    folds = walk_forward(ds.decided_ms, ds.known_ms, SPEC.n_folds, embargo_ms=0)
    assert len(folds) == SPEC.n_folds
    for f in folds:
        assert ds.known_ms[f.train].max() < f.start_ms  # every training label is known before the test fold
        assert ds.decided_ms[f.test].min() >= f.start_ms and ds.decided_ms[f.test].max() < f.end_ms
        # purge really removed something: samples decided before the start whose labels end inside it
        purged = (ds.decided_ms < f.start_ms) & (ds.known_ms >= f.start_ms)
        assert purged.sum() > 0 and not np.isin(np.flatnonzero(purged), f.train).any()
        # and nothing else: every sample decided and known before the start is trained on
        np.testing.assert_array_equal(f.train, np.flatnonzero(ds.known_ms < f.start_ms))
    assert [f.k for f in folds] == sorted(f.k for f in folds)

    # the embargo, longer than the horizon so it drops samples the purge keeps
    embargo = 3 * horizon
    for f, e in zip(folds, walk_forward(ds.decided_ms, ds.known_ms, SPEC.n_folds, embargo), strict=True):
        assert (e.start_ms, e.end_ms) == (f.start_ms, f.end_ms)
        np.testing.assert_array_equal(e.test, f.test)
        assert ds.decided_ms[e.train].max() < e.start_ms - embargo
        assert ds.known_ms[e.train].max() < e.start_ms
        embargoed = (ds.known_ms < f.start_ms) & (ds.decided_ms >= f.start_ms - embargo)
        assert embargoed.sum() > 0 and not np.isin(np.flatnonzero(embargoed), e.train).any()
        np.testing.assert_array_equal(e.train, np.setdiff1d(f.train, np.flatnonzero(embargoed)))
