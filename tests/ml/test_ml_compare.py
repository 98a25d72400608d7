"""A trained model gates a full-stack backtest on real data; the report shows both runs side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ml_helpers import PAIRS, TF_MS, Env
from rich.console import Console
from typer.testing import CliRunner

from aitrader.backtest.demo import demo_settings
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.cli.main import app
from aitrader.core.time import ms_to_iso, parse_time
from aitrader.ml.backtest_gate import GatedFrame, compare_with_gate
from aitrader.ml.gate import MLGate
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.report import comparison_table


def test_gated_backtest_side_by_side(registry: ModelRegistry, ml_env: Env) -> None:
    settings, spec = demo_settings(), BacktestSpec("bittrex", PAIRS, "5m")
    gate = MLGate(registry, threshold=0.25, timeframe_ms=TF_MS)
    assert gate.load()
    cmp = compare_with_gate(settings, spec, ml_env.datadir, gate, candles=ml_env.candles)
    # the ungated run is exactly what `aitrader backtest` produces (same assembly, same trades)
    plain = run_backtest(settings, spec, ml_env.datadir, candles=ml_env.candles).report
    assert cmp.without.report.fingerprint == plain.fingerprint
    assert 0 < cmp.passed < cmp.proposed
    assert cmp.gated.stats.entries < cmp.without.stats.entries
    # every gated entry that became a trade had P(win) >= threshold at its decision bar
    for pair, frame in cmp.gated.frames.items():
        assert isinstance(frame, GatedFrame)
        ts = ml_env.candles[pair].ts
        for rec in frame.records():
            i = int(np.searchsorted(ts, rec.decision.ts))
            assert rec.passed == (frame.p[i] >= 0.25) and rec.model_version == "v0001"
    console = Console(record=True, width=160)
    console.print(comparison_table(cmp))
    text = " ".join(console.export_text().split())  # the title wraps at the table's width
    assert "without gate" in text and "with gate" in text and "model v0001" in text
    assert f"{cmp.passed} of {cmp.proposed}" in text


def test_threshold_zero_equals_no_gate(registry: ModelRegistry, ml_env: Env) -> None:
    gate = MLGate(registry, threshold=0.0, timeframe_ms=TF_MS)
    assert gate.load()
    cmp = compare_with_gate(
        demo_settings(), BacktestSpec("bittrex", PAIRS, "5m"), ml_env.datadir, gate, candles=ml_env.candles
    )
    assert cmp.passed == cmp.proposed
    assert cmp.gated.report.fingerprint == cmp.without.report.fingerprint


def test_cli_train_list_promote_compare(tmp_path: Path, ml_env: Env) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"exchange: {{name: bittrex, pairs: [ETH/BTC, ETC/BTC]}}\nbacktest: {{starting_balance: '1'}}\n"
        f"storage: {{url: 'sqlite:///{tmp_path}/db.sqlite'}}\n"
        f"ml: {{registry: {tmp_path}/models, threshold: 0.3}}\n"
    )
    runner = CliRunner()
    base = ["--config", str(cfg)]
    r = runner.invoke(
        app,
        [
            "ml",
            "train",
            *base,
            "--datadir",
            str(ml_env.datadir),
            "--folds",
            "2",
            "--max-iter",
            "20",
            "--label",
            "triple_barrier",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "registered model v0001" in r.output and "AUC" in r.output and "reliability" in r.output
    card = json.loads(runner.invoke(app, ["ml", "show", "v0001", *base]).output)
    assert card["spec"]["labels"]["kind"] == "triple_barrier" and card["model"] == "hgb"
    r = runner.invoke(app, ["ml", "list", *base, "--json"])
    assert [m["version"] for m in json.loads(r.output)] == ["v0001"]
    assert runner.invoke(app, ["ml", "promote", "latest", *base]).exit_code == 0
    assert json.loads(runner.invoke(app, ["ml", "list", *base, "--json"]).output)[0]["current"] is True
    out = tmp_path / "cmp.json"
    r = runner.invoke(app, ["ml", "compare", *base, "--datadir", str(ml_env.datadir), "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert data["model_version"] == "v0001" and data["threshold"] == 0.3
    assert data["without_gate"]["trades"] >= data["with_gate"]["trades"]
    r = runner.invoke(app, ["ml", "promote", "v0042", *base])
    assert r.exit_code != 0


def test_cli_compare_defaults_to_out_of_sample(tmp_path: Path, registry: ModelRegistry, ml_env: Env) -> None:
    """Without --timerange `ml compare` starts at the model's validation start (out of sample) and says
    so; a --timerange reaching into the training data runs as given, with a warning."""
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"exchange: {{name: bittrex, pairs: [{', '.join(PAIRS)}]}}\nbacktest: {{starting_balance: '1'}}\n"
        f"ml: {{registry: {registry.root}, threshold: 0.3}}\n"
    )
    data = registry.card("v0001")["data"]
    oos, train_start = data["validation_start_ms"], parse_time(data["train_start"])
    assert parse_time(data["train_end"]) < oos
    runner = CliRunner()

    def compare(*extra: str) -> tuple[str, dict[str, Any]]:
        out = tmp_path / "cmp.json"
        args = ["ml", "compare", "--config", str(cfg), "--datadir", str(ml_env.datadir), "--json", str(out)]
        r = runner.invoke(app, [*args, *extra])
        assert r.exit_code == 0, r.output
        return " ".join(r.output.split()), json.loads(out.read_text())["timerange"]

    text, tr = compare()
    assert f"range: {ms_to_iso(oos)} → end of data (model validation start; model v0001" in text
    assert "warning" not in text and not tr["overlaps_training"]
    assert tr["start_ms"] == oos and tr["end_ms"] is None and tr["source"] == "model validation start"
    assert oos <= tr["first_candle_ms"] < oos + TF_MS  # the backtests really began out of sample

    first = int(ml_env.candles[PAIRS[0]].ts[0])
    text, tr = compare("--timerange", f"{first}-{oos}")
    assert "overlaps model v0001's training data" in text and tr["overlaps_training"]
    assert tr["start_ms"] == first == tr["first_candle_ms"] and tr["source"] == "--timerange"
    assert first < train_start  # (the range covers the training rows)

    late = oos + 600 * TF_MS  # after the validation start: out of sample, no warning
    text, tr = compare("--timerange", f"{late}-")
    assert "warning" not in text and not tr["overlaps_training"] and tr["start_ms"] == late
