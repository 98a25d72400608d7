"""bench/backtest.py finds the shared folder beside the checkout (or $AITRADER_SHARED) and reads
freqtrade's (b) figure from ANCHORS.md, the anchor the issue means to beat by 10x."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from bench_scripts import load_bench
from shared_data import SHARED

BENCH = Path(__file__).resolve().parents[2] / "bench" / "backtest.py"


def _bench() -> ModuleType:
    return load_bench("backtest")


def test_shared_dir_beside_the_checkout_or_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AITRADER_SHARED", raising=False)
    assert _bench().shared_dir() == BENCH.parents[1].parent / "shared"
    monkeypatch.setenv("AITRADER_SHARED", str(tmp_path))
    mod = _bench()
    assert mod.shared_dir() == tmp_path and tmp_path / "bench" / "gen_data.py" == mod.GEN


def test_freqtrade_anchor_is_read_from_anchors_md(tmp_path: Path) -> None:
    mod = _bench()
    anchors = SHARED / "bench" / "ANCHORS.md"
    if not anchors.is_file():
        pytest.skip(f"{anchors} not present")
    label, rate = mod.anchor_rate_b(anchors)
    assert label.startswith("freqtrade") and rate == 27_700.0  # "27.7 k" in the (b) candles/s column
    assert mod.anchor_rate_b(tmp_path / "missing.md") is None
    (tmp_path / "a.md").write_text("| tool | (b) x | candles/s |\n|---|---|---|\n| other | 1 | 2 k |\n")
    assert mod.anchor_rate_b(tmp_path / "a.md") is None
