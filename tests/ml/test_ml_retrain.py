"""Retraining runs in a subprocess; killing it leaves the gate serving the previous model, and the
worker promotes a new model only when it beats the current one on the latest out-of-sample fold."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from ml_helpers import PAIRS, SMALL, TF_MS, AlwaysLong, Env

from aitrader.core.candles import OHLCV
from aitrader.core.ports import CandleClosed
from aitrader.ml.card import build_card
from aitrader.ml.gate import MLGate
from aitrader.ml.live import GatedDecisions
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.retrain import Retrainer
from aitrader.ml.train import TrainSpec, train
from aitrader.ml.worker import TrainRequest, run


def _request(env: Env, reg: ModelRegistry, spec: TrainSpec = SMALL, **kw: object) -> TrainRequest:
    return TrainRequest(
        datadir=str(env.datadir),
        exchange="bittrex",
        pairs=PAIRS,
        timeframe="5m",
        registry=str(reg.root),
        spec=spec.to_dict(),
        **kw,  # type: ignore[arg-type]
    )


def wait_for_stage(r: Retrainer, stage: str, timeout_s: float = 120.0) -> None:
    """Until the running worker has printed a progress line of `stage` (it must still be running)."""
    deadline = time.monotonic() + timeout_s
    while (got := r.progress()) is None or got.get("stage") != stage:
        assert r.proc is not None and r.proc.poll() is None, f"worker ended before {stage}: {got}"
        assert time.monotonic() < deadline, f"no {stage!r} progress line (last: {got})"
        time.sleep(0.05)


def test_sigkill_mid_training_keeps_previous_model(
    tmp_path: Path, registry: ModelRegistry, ml_env: Env, request: pytest.FixtureRequest
) -> None:
    gate = MLGate(registry, threshold=0.0, timeframe_ms=TF_MS)
    assert gate.load()
    c = ml_env.candles["ETH/BTC"]
    src = GatedDecisions(
        AlwaysLong(),
        gate,
        window=1500,
        # thousands of boosting iterations: once fitting has started, the run lasts many seconds
        retrainer=Retrainer(
            _request(ml_env, registry, replace(SMALL, max_iter=5000)), tmp_path / "work", interval_ms=10**12
        ),
    )
    src.warm_up("ETH/BTC", c.slice(0, 3000))
    ev = CandleClosed("ETH/BTC", "5m", c.candle(3000))
    assert src.decision("ETH/BTC", ev) is not None  # first candle starts the (due) retraining
    retrainer = src.retrainer
    assert retrainer is not None and retrainer.running and retrainer.proc is not None
    request.addfinalizer(retrainer.stop)  # no orphan worker if an assertion fails
    wait_for_stage(retrainer, "folds")  # features built, models being fitted: mid-training
    assert retrainer.proc.poll() is None
    os.kill(retrainer.proc.pid, signal.SIGKILL)
    retrainer.proc.wait()
    for i in range(3001, 3004):  # trading continues through the failure
        d = src.decision("ETH/BTC", CandleClosed("ETH/BTC", "5m", c.candle(i)))
        assert d is not None and "model v0001" in d.reasons[-1]
    assert retrainer.last is not None and retrainer.last.returncode == -signal.SIGKILL
    assert not retrainer.last.promoted and retrainer.last.error
    assert gate.version == "v0001" and registry.current() == "v0001" and registry.versions() == ["v0001"]
    assert not retrainer.running and not retrainer.maybe_start(c.candle(3004).ts)  # interval not yet passed
    after = list(src.records)[-3:]  # gated with the previous model: a probability, and passed
    assert [r.model_version for r in after] == ["v0001"] * 3
    assert all(r.passed and r.probability is not None and r.outcome.startswith("ML_PASSED") for r in after)


def test_promotes_only_a_better_model(tmp_path: Path, ml_env: Env) -> None:
    reg = ModelRegistry(tmp_path / "models")
    # a bad current model: trained on inverted labels, so its AUC is below 0.5
    flipped = {
        p: OHLCV.from_arrays(c.ts, c.open[::-1], c.high[::-1], c.low[::-1], c.close[::-1], c.volume[::-1])
        for p, c in ml_env.candles.items()
    }
    bad = train(flipped, TF_MS, replace(SMALL, max_iter=5))
    reg.promote(reg.register(bad.model, build_card(bad, exchange="bittrex", timeframe="5m")))
    out = run(_request(ml_env, reg, promote="if_better"))
    assert out["promoted"] and out["candidate_auc"] > out["current_auc"] and reg.current() == "v0002"
    # retraining the same spec on the same data gives the same AUC: not better, not promoted
    out = run(_request(ml_env, reg, promote="if_better"))
    assert not out["promoted"] and np.isclose(out["candidate_auc"], out["current_auc"])
    assert reg.current() == "v0002" and reg.versions() == ["v0001", "v0002", "v0003"]


def test_retrainer_completes_and_gate_picks_up_promotion(tmp_path: Path, ml_env: Env) -> None:
    reg = ModelRegistry(tmp_path / "models")
    gate = MLGate(reg, threshold=0.0, on_failure="gate_bypassed", timeframe_ms=TF_MS)
    assert not gate.load()  # nothing yet: bypassed
    r = Retrainer(_request(ml_env, reg), tmp_path / "work", interval_ms=1)
    assert r.maybe_start(0)
    deadline = time.monotonic() + 120
    while (outcome := r.poll()) is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert outcome.returncode == 0 and outcome.promoted, outcome.result
    assert gate.load("current") and gate.version == "v0001"


def test_corrupt_current_model_does_not_block_promotion(registry: ModelRegistry, ml_env: Env) -> None:
    """A current model whose file fails its sha256 check scores NaN: the candidate is promoted and the
    gate, closed while CURRENT was corrupt, serves the new version."""
    path = registry.root / "v0001" / "model.joblib"
    path.write_bytes(path.read_bytes() + b"\0")  # the card's sha256 no longer matches
    gate = MLGate(registry, threshold=0.0, timeframe_ms=TF_MS)
    assert not gate.load() and gate.last_error is not None and "sha256" in gate.last_error
    out = run(_request(ml_env, registry, promote="if_better"))
    assert out["promoted"] and out["version"] == "v0002" and out["previous"] == "v0001"
    assert np.isnan(out["current_auc"]) and "sha256" in out["current_error"]
    assert registry.current() == "v0002" and registry.versions() == ["v0001", "v0002"]
    assert gate.load() and gate.version == "v0002"
    # a loadable current model still has to be beaten: nothing is reported wrong with it
    out = run(_request(ml_env, registry, promote="if_better"))
    assert not out["promoted"] and out["current_error"] is None and registry.current() == "v0002"
