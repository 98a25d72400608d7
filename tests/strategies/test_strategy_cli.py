"""The docs' worked example, run for real: one user file shows up in `aitrader strategy list`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aitrader.cli.main import app
from aitrader.strategies import registry
from aitrader.strategies.sample import load_ohlcv_csv, sample_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
runner = CliRunner()

LEAKY = """
import numpy as np
from aitrader.strategies import Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below


class Peek(Strategy):
    name = "peek"
    description = "uses the next close"

    @property
    def warmup(self) -> int:
        return 1

    def compute(self, candles, informative=None):
        nxt = np.append(candles.close[1:], np.nan)
        return Signals.from_events(crossed_above(nxt, candles.close), crossed_below(nxt, candles.close))
"""


def _doc_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (example,) = [b for b in blocks if "class InsideBar" in b]
    return example


@pytest.fixture
def user_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    d = tmp_path / "user_strategies"
    d.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(registry.ENV_PATH, str(d))
    monkeypatch.setenv("COLUMNS", "200")
    return d


def test_docs_example_appears_in_list_and_passes_the_guard(user_dir: Path) -> None:
    (user_dir / "inside_bar.py").write_text(_doc_example())
    r = runner.invoke(app, ["strategy", "list", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.output)}
    assert rows["inside_bar"]["source"] == str(user_dir / "inside_bar.py")
    assert rows["inside_bar"]["params"] == ["buffer=0.0 [0..0.01]"]
    assert rows["ema_cross"]["source"] == "builtin"
    table = runner.invoke(app, ["strategy", "list"])
    assert table.exit_code == 0 and "inside_bar" in table.output and "fast=12 [2..100]" in table.output
    ok = runner.invoke(app, ["strategy", "check-lookahead", "inside_bar", "--samples", "12"])
    assert ok.exit_code == 0, ok.output
    assert "no lookahead" in ok.output
    # the example really trades on real data
    s = registry.create("inside_bar")
    assert (s.compute(load_ohlcv_csv(sample_path())).direction != 0).sum() > 50


def test_check_lookahead_fails_a_leaky_user_strategy(user_dir: Path) -> None:
    (user_dir / "peek.py").write_text(LEAKY)
    data = sample_path("binance_XRP_USDT_USDT-5m-futures.csv")
    r = runner.invoke(app, ["strategy", "check-lookahead", "peek", "--data", str(data), "--samples", "10"])
    assert r.exit_code == 1
    assert "LOOKAHEAD" in r.output and "1999 bars" in r.output


def test_bad_user_file_is_one_clear_error(user_dir: Path) -> None:
    (user_dir / "oops.py").write_text("import not_a_module_anywhere\n")
    r = runner.invoke(app, ["strategy", "list"])
    assert r.exit_code != 0
    assert "oops.py failed to load: ModuleNotFoundError" in str(r.exception)
