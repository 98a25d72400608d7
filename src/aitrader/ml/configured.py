"""`ml:` settings -> training spec and retraining schedule, in one place.

Why: `aitrader ml train`, the scheduled `Retrainer` and anything else that trains must build the
same `TrainSpec` from the same config, or a model retrained overnight would silently differ from the
one an operator trained and evaluated by hand. CLI options only override single fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aitrader.config import Settings
from aitrader.core.errors import AitraderError
from aitrader.ml.labels import LabelSpec
from aitrader.ml.retrain import Retrainer
from aitrader.ml.train import TrainSpec
from aitrader.ml.worker import TrainRequest

_KINDS = {"label": ("forward", "triple_barrier"), "model": ("hgb", "lightgbm")}


def train_spec(settings: Settings, **overrides: Any) -> TrainSpec:
    """The TrainSpec `settings.ml` describes; keyword overrides (None = keep) use MLConfig's names:
    label, model, folds, purge_bars, embargo_bars, max_iter."""
    ml = settings.ml.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    for key, allowed in _KINDS.items():
        if getattr(ml, key) not in allowed:  # model_copy does not validate
            raise AitraderError(f"ml.{key} must be {' or '.join(allowed)}, got {getattr(ml, key)!r}")
    for key in ("folds", "max_iter"):
        if int(getattr(ml, key)) < 1:
            raise AitraderError(f"ml.{key} must be >= 1, got {getattr(ml, key)}")
    for key in ("purge_bars", "embargo_bars"):
        if int(getattr(ml, key)) < 0:
            raise AitraderError(f"ml.{key} must be >= 0, got {getattr(ml, key)}")
    labels = LabelSpec(
        kind=ml.label,
        horizon=ml.horizon,
        fee=float(settings.backtest.taker_fee),
        take_atr=settings.confluence.take_atr,
        stop_atr=settings.confluence.stop_atr,
    )
    return TrainSpec(
        labels=labels,
        model=ml.model,
        n_folds=ml.folds,
        embargo_bars=ml.embargo_bars,
        purge_bars=ml.purge_bars,
        threshold=ml.threshold,
        max_iter=ml.max_iter,
    )


def retrainer(settings: Settings, request: TrainRequest, workdir: Path) -> Retrainer:
    """The scheduled retrainer at `ml.retrain_interval_ms` (it always promotes `if_better`)."""
    return Retrainer(request, workdir, interval_ms=settings.ml.retrain_interval_ms)
