"""`aitrader backtest` end to end on the bundled data: reference mode JSON equals the vectorised
reference, the HTML is self-contained, bad input is one clear error line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from aitrader.backtest.demo import import_sample_data
from aitrader.backtest.reference import reference_trades
from aitrader.cli.main import app
from aitrader.data.store import HistoryStore
from aitrader.strategies.registry import create

runner = CliRunner()


def test_reference_backtest_json_and_html(tmp_path: Path) -> None:
    datadir = tmp_path / "data"
    import_sample_data(datadir)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    r = runner.invoke(
        app,
        [
            "backtest", "--datadir", str(datadir), "--exchange", "bittrex", "--timeframe", "5m",
            "--pairs", "ETH/BTC,ADA/BTC", "--strategies", "ema_cross", "--stake-amount", "1000",
            "--fee", "0.001", "--no-stops", "--timerange", "20180112-20180125",
            "--json", str(out_json), "--html", str(out_html),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "total return" in r.output and str(out_json) in r.output.replace("\n", "")
    doc = json.loads(out_json.read_text())
    assert set(doc) >= {"trades", "summary", "per_pair", "per_strategy", "fingerprint"}
    store = HistoryStore(datadir)
    expected = 0
    for pair in ("ETH/BTC", "ADA/BTC"):
        c = store.read("bittrex", pair, "5m", 1515715200000, 1516838400000)
        ref = reference_trades(c, create("ema_cross").compute(c).direction, 1000.0, 0.001, pair, "ema_cross")
        got = [t for t in doc["trades"] if t["pair"] == pair]
        assert [t["entry_time"] for t in got] == ref.entry_time.tolist()
        assert np.allclose([t["pnl"] for t in got], ref.pnl, rtol=1e-12)
        expected += len(ref)
    assert doc["summary"]["trades"] == expected > 20
    t0 = doc["trades"][0]
    assert set(t0) >= {"pair", "entry_time", "exit_time", "entry_price", "exit_price", "amount", "fee", "pnl",
                       "strategy", "exit_reason"}
    html = out_html.read_text()
    assert "Plotly" in html and not re.search(r"<script[^>]+src=", html)  # plotly.js inlined, no CDN


def test_missing_data_is_one_line(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "aitrader.cli.main", "backtest", "--datadir", str(tmp_path), "--exchange",
         "bittrex", "--pairs", "ETH/BTC", "--timeframe", "5m"],
        capture_output=True, text=True,
    )
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error:") and "no spot data" in p.stderr
    assert "Traceback" not in p.stderr
