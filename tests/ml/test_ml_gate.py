"""Registry and gate: versions, integrity, DB row, live == vectorised probability, failure modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ml_helpers import TF_MS, Env

from aitrader.core.decisions import Decision
from aitrader.ml.card import build_card
from aitrader.ml.gate import MLGate
from aitrader.ml.registry import ModelError, ModelRegistry
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade
from aitrader.storage.repository import tenant_scope


def _entry(ts: int, price: float) -> Decision:
    return Decision(
        ts=ts,
        symbol="ETH/BTC",
        direction=1,
        confidence=0.6,
        price=price,
        stop=price * 0.98,
        take=price * 1.03,
        reasons=("ema_cross: crossed",),
    )


def test_registry_versions_card_and_db_row(tmp_path: Path, ml_env: Env) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(db)
    reg = ModelRegistry(tmp_path / "models", db=db)
    card = build_card(ml_env.result, exchange="bittrex", timeframe="5m")
    (tmp_path / "models" / ".tmp-killed").mkdir(parents=True)  # what a killed run leaves behind
    assert reg.register(ml_env.result.model, card) == "v0001"
    assert reg.register(ml_env.result.model, card) == "v0002"
    assert reg.versions() == ["v0001", "v0002"] and reg.current() is None
    reg.promote("v0001")
    assert reg.resolve("current") == "v0001" and reg.resolve("latest") == "v0002"
    c = reg.card("v0002")
    assert c["pairs"] == ["ETH/BTC", "ETC/BTC"] and c["features"] == list(ml_env.result.dataset.feature_names)
    assert c["code_version"].startswith("0.1.0") and 0.0 < c["metrics"]["validation"]["auc"] < 1.0
    assert c["data"]["train_end"] < c["data"]["validation_start"]
    assert set(c["importances"]) == set(c["features"])
    with tenant_scope(db, "default") as ts:
        rows = ts.load_namespace("ml.models")
        assert set(rows) == {"v0001", "v0002"} and rows["v0002"]["sha256"] == c["sha256"]
        assert ts.load_state("ml", "current") == "v0001"
    (tmp_path / "models" / "v0002" / "model.joblib").write_bytes(b"corrupt")
    with pytest.raises(ModelError, match="sha256"):
        reg.load("v0002")
    with pytest.raises(ModelError, match="invalid model version"):
        reg.load("../etc")


def test_live_probability_equals_vectorised(registry: ModelRegistry, ml_env: Env) -> None:
    gate = MLGate(registry, threshold=0.3, timeframe_ms=TF_MS)
    assert gate.load() and gate.version == "v0001"
    c = ml_env.candles["ETH/BTC"]
    p_all, version = gate.probabilities(c)
    for end in (1500, 2500, len(c)):
        p, v = gate.probability(c.slice(0, end))
        assert v == version == "v0001"
        assert p == pytest.approx(p_all[end - 1], abs=1e-12)
    # the verdict follows the threshold and says why, with probability and version
    i = int(np.argmax(p_all)), int(np.argmin(p_all))
    for k, want in zip(i, (True, False), strict=True):
        gate.threshold = float((p_all.max() + p_all.min()) / 2)
        g = gate.check(_entry(int(c.ts[k]), float(c.close[k])), c.slice(0, k + 1))
        assert g.passed is want and g.model_version == "v0001"
        assert g.probability == pytest.approx(p_all[k], abs=1e-12)
        assert g.decision.reasons[-1].startswith("ml gate passed" if want else "ml gate blocked")
        assert (g.decision.direction == 1) is want
    exit_ = Decision(ts=1, symbol="ETH/BTC", direction=-1, confidence=1.0, price=1.0)
    assert gate.check(exit_, c).decision is exit_  # exits are never gated


@pytest.mark.parametrize(("mode", "passes"), [("gate_closed", False), ("gate_bypassed", True)])
def test_model_failure_degrades_never_crashes(
    registry: ModelRegistry, ml_env: Env, mode: str, passes: bool
) -> None:
    c = ml_env.candles["ETH/BTC"]
    d = _entry(int(c.ts[-1]), float(c.close[-1]))
    empty = MLGate(ModelRegistry(registry.root.parent / "nothing"), threshold=0.5, on_failure=mode)  # type: ignore[arg-type]
    assert not empty.load() and empty.version is None
    g = empty.check(d, c)
    assert (
        g.passed is passes
        and g.probability is None
        and "ml gate " + ("bypassed" if passes else "closed") in g.reason
    )

    gate = MLGate(registry, threshold=0.0, on_failure=mode)  # type: ignore[arg-type]
    assert gate.load()
    (registry.root / "v0001" / "model.joblib").write_bytes(b"broken")
    assert not gate.load()  # a failed reload keeps the model served so far
    assert gate.version == "v0001" and gate.check(d, c).passed
    g = gate.check(d, c.slice(0, 1))  # one candle: the feature computation itself fails
    assert g.passed is passes and "DataError" in g.reason
