"""`ml:` config drives training: config.example.yaml documents every MLConfig field, `train_spec`
follows the config, CLI options override single fields, and purge_bars really purges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from ml_helpers import TF_MS, Env
from typer.testing import CliRunner

import aitrader.cli.ml as cli_ml
from aitrader.cli.main import app
from aitrader.config import MLConfig, load_settings
from aitrader.core.errors import AitraderError
from aitrader.ml.configured import retrainer, train_spec
from aitrader.ml.splits import walk_forward
from aitrader.ml.train import TrainSpec
from aitrader.ml.worker import TrainRequest

ROOT = Path(__file__).resolve().parents[2]


def test_example_documents_every_field_with_its_default() -> None:
    example = yaml.safe_load((ROOT / "config.example.yaml").read_text(encoding="utf-8"))["ml"]
    assert set(example) == set(MLConfig.model_fields)
    defaults = MLConfig()
    for key, value in example.items():
        want = getattr(defaults, key)
        assert (str(want) if isinstance(want, Path) else want) == value, key
    spec = train_spec(load_settings(ROOT / "config.example.yaml"))
    assert spec == TrainSpec(labels=spec.labels)  # the documented defaults ARE the training defaults
    assert spec.labels.kind == "forward" and spec.labels.horizon == 12


def _settings(tmp_path: Path, ml: str) -> Any:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"storage: {{url: 'sqlite:///{tmp_path}/db.sqlite'}}\nml: {{registry: {tmp_path}/models, {ml}}}\n",
        encoding="utf-8",
    )
    return load_settings(cfg), cfg


def test_train_spec_follows_config_and_overrides(tmp_path: Path) -> None:
    s, _ = _settings(
        tmp_path,
        "label: triple_barrier, folds: 3, purge_bars: 6, embargo_bars: 24, max_iter: 50, "
        "horizon: 24, retrain_interval_ms: 3600000",
    )
    spec = train_spec(s)
    assert (spec.labels.kind, spec.labels.horizon, spec.n_folds) == ("triple_barrier", 24, 3)
    assert (spec.purge_bars, spec.embargo_bars, spec.max_iter) == (6, 24, 50)
    assert spec.labels.take_atr == s.confluence.take_atr and spec.threshold == s.ml.threshold
    o = train_spec(s, label="forward", folds=2, purge_bars=None)
    assert (o.labels.kind, o.n_folds, o.purge_bars) == ("forward", 2, 6)
    assert TrainSpec.from_dict(spec.to_dict()) == spec  # round-trips through the model card
    with pytest.raises(AitraderError, match=r"ml\.model"):
        train_spec(s, model="xgboost")
    with pytest.raises(AitraderError, match=r"ml\.folds"):
        train_spec(s, folds=0)
    req = TrainRequest("d", "bittrex", ["ETH/BTC"], "5m", str(tmp_path))
    assert retrainer(s, req, tmp_path).interval_ms == 3_600_000


def test_cli_train_defaults_come_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[TrainRequest] = []

    def fake_worker(req: TrainRequest, registry: Path) -> dict[str, Any]:
        seen.append(req)
        return {"done": False, "error": "not training in this test"}

    monkeypatch.setattr(cli_ml, "_run_worker", fake_worker)
    _, cfg = _settings(tmp_path, "label: triple_barrier, folds: 3, embargo_bars: 7, promote: if_better")
    base = ["ml", "train", "--config", str(cfg), "--datadir", str(tmp_path)]
    r = CliRunner().invoke(app, base)
    assert r.exit_code != 0 and "not training in this test" in str(r.exception)
    r = CliRunner().invoke(app, [*base, "--folds", "5", "--promote", "never", "--purge", "2"])
    assert r.exit_code != 0
    first, second = (TrainSpec.from_dict(q.spec) for q in seen)
    assert (first.labels.kind, first.n_folds, first.embargo_bars, seen[0].promote) == (
        "triple_barrier",
        3,
        7,
        "if_better",
    )
    assert (second.n_folds, second.purge_bars, second.embargo_bars, seen[1].promote) == (5, 2, 7, "never")


def test_purge_bars_drops_labels_known_near_the_test_fold(ml_env: Env) -> None:
    ds = ml_env.result.dataset
    plain = walk_forward(ds.decided_ms, ds.known_ms, 3, 12 * TF_MS)
    purged = walk_forward(ds.decided_ms, ds.known_ms, 3, 12 * TF_MS, purge_ms=48 * TF_MS)
    for a, b in zip(plain, purged, strict=True):
        assert set(b.train) < set(a.train) and np.array_equal(a.test, b.test)
        assert ds.known_ms[b.train].max() < b.start_ms - 48 * TF_MS
        assert ds.known_ms[a.train].max() >= b.start_ms - 48 * TF_MS  # without it, such labels train
