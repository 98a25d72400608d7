"""The classifiers: scikit-learn HistGradientBoosting by default, LightGBM when it is installed.

Each model is a Pipeline whose first step is a StandardScaler, so normalisation is part of the
fitted object: fitted on the training fold only (`fit` sees nothing else) and carried with the model
into the registry, the backtest and the live gate. Trees do not need scaling; it is there so linear
or neural models can be dropped in, and so the leakage test has a fitted transform to check.
Both classifiers handle NaN (features in warm-up) natively.
"""

from __future__ import annotations

import importlib.util
from typing import Literal

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from aitrader.core.errors import ConfigError

ModelKind = Literal["hgb", "lightgbm"]


def lightgbm_available() -> bool:
    return importlib.util.find_spec("lightgbm") is not None


def make_model(kind: ModelKind = "hgb", *, max_iter: int = 200, seed: int = 0) -> Pipeline:
    """An unfitted scaler + classifier pipeline; deterministic for a given seed."""
    if kind == "hgb":
        clf: object = HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=50,
            l2_regularization=1.0,
            early_stopping=False,  # the walk-forward folds are the validation; no random inner split
            random_state=seed,
        )
    elif kind == "lightgbm":
        if not lightgbm_available():
            raise ConfigError(
                "model lightgbm asked for, but lightgbm is not installed (pip install lightgbm)"
            )
        lightgbm = importlib.import_module("lightgbm")
        clf = lightgbm.LGBMClassifier(
            n_estimators=max_iter,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=50,
            reg_lambda=1.0,
            random_state=seed,
            deterministic=True,
            n_jobs=1,
            verbose=-1,
        )
    else:
        raise ConfigError(f"unknown model kind {kind!r}: hgb or lightgbm")
    return Pipeline([("scale", StandardScaler()), ("clf", clf)])
