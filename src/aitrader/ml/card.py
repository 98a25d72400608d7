"""The model card: what a registered model was trained on, how it scored, and which code made it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import aitrader
from aitrader.core.time import ms_to_iso, now_ms
from aitrader.ml.train import TrainResult


def code_version() -> str:
    """`aitrader.__version__`, plus `git describe` of the source tree when it is a git checkout."""
    base = aitrader.__version__
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(aitrader.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return base
    desc = out.stdout.strip()
    return f"{base}+git.{desc}" if out.returncode == 0 and desc else base


def build_card(result: TrainResult, *, exchange: str, timeframe: str) -> dict[str, Any]:
    """Everything `aitrader ml list` shows and the gate needs to rebuild features (JSON-ready)."""
    ds, latest = result.dataset, result.latest
    fold = latest.fold
    train_rows = fold.train
    return {
        "created_ms": now_ms(),
        "created": ms_to_iso(now_ms()),
        "code_version": code_version(),
        "exchange": exchange,
        "timeframe": timeframe,
        "pairs": list(ds.pairs),
        "data": {
            "start": ms_to_iso(ds.start_ms),
            "end": ms_to_iso(ds.end_ms),
            "samples": len(ds),
            "train_start": ms_to_iso(int(ds.decided_ms[train_rows].min())),
            "train_end": ms_to_iso(int(ds.known_ms[train_rows].max())),
            "train_samples": len(train_rows),
            "validation_start": ms_to_iso(fold.start_ms),
            "validation_end": ms_to_iso(fold.end_ms),
            "validation_start_ms": fold.start_ms,
            "validation_end_ms": fold.end_ms,
            "validation_samples": len(fold.test),
        },
        "features": list(ds.feature_names),
        "spec": result.spec.to_dict(),
        "model": result.spec.model,
        "threshold": result.spec.threshold,
        "metrics": {
            "validation": result.validation,
            "folds": [
                {
                    "k": o.fold.k,
                    "train": len(o.fold.train),
                    "test": len(o.fold.test),
                    "auc": o.metrics["auc"],
                    "brier": o.metrics["brier"],
                    "precision_at_threshold": o.metrics["precision_at_threshold"],
                }
                for o in result.folds
            ],
        },
        "importances": result.importances,
    }
