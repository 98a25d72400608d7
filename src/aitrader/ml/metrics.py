"""How good is a P(win) model out of sample: AUC, precision at the gate threshold, calibration.

- AUC: does it rank winners above losers (0.5 = coin flip)?
- precision at threshold: of the entries the gate lets through, how many won; with `pass_rate`
  (share let through) and `base_rate` (share of winners overall) to compare against.
- Brier score and a reliability table (predicted vs observed win rate per probability bin): the
  gate compares probabilities with a fixed threshold, so they must mean what they say.
- permutation importance on the validation fold: how much AUC drops when one feature is shuffled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss, roc_auc_score

from aitrader.core.candles import FloatArray


def auc(y: npt.NDArray[Any], p: FloatArray) -> float:
    """ROC AUC; NaN when the fold has only one class (AUC is undefined)."""
    if len(np.unique(y)) < 2:
        return math.nan
    return float(roc_auc_score(y, p))


def reliability(y: npt.NDArray[Any], p: FloatArray, bins: int = 10) -> list[dict[str, float | int]]:
    """Per probability bin [lo, hi): count, mean predicted, observed win rate (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out: list[dict[str, float | int]] = []
    for b in range(bins):
        m = which == b
        if m.any():
            out.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "count": int(m.sum()),
                    "predicted": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return out


def evaluate(y: npt.NDArray[Any], p: FloatArray, threshold: float) -> dict[str, Any]:
    passed = p >= threshold
    return {
        "samples": len(y),
        "base_rate": float(np.mean(y)) if len(y) else math.nan,
        "auc": auc(y, p),
        "threshold": threshold,
        "pass_rate": float(np.mean(passed)) if len(y) else math.nan,
        "precision_at_threshold": float(np.mean(y[passed])) if passed.any() else math.nan,
        "brier": float(brier_score_loss(y, p)) if len(y) else math.nan,
        "reliability": reliability(y, p),
    }


def importances(
    model: Any,
    X: FloatArray,
    y: npt.NDArray[Any],
    names: tuple[str, ...],
    *,
    max_rows: int = 4000,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Mean AUC drop per feature when shuffled (on at most `max_rows` rows, evenly spaced), largest first."""
    if len(np.unique(y)) < 2:
        return {}
    step = max(1, len(y) // max_rows)
    Xs, ys = X[::step], y[::step]
    if len(np.unique(ys)) < 2:
        return {}
    r = permutation_importance(
        model, Xs, ys, scoring="roc_auc", n_repeats=repeats, random_state=seed, n_jobs=1
    )
    pairs = sorted(zip(names, (float(v) for v in r.importances_mean), strict=True), key=lambda kv: -kv[1])
    return dict(pairs)
