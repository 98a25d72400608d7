"""The `make run` demo: bundled real Bittrex 5m candles through the full stack, report on disk.

Steps: import `aitrader/sample_data/ohlcv/bittrex_*-5m.csv` into `workdir/data` (skipped for pairs
already stored), backtest the default strategy set (confluence -> risk -> simulated venue with stops
-> ledger) over those pairs, print the rich summary and write `workdir/reports/demo.{html,json}`.
The account is 1 BTC (the pairs are quoted in BTC), fees and slippage from the config defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console

from aitrader.backtest.console import print_report, progress_bar
from aitrader.backtest.report import BacktestReport
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import Settings, load_settings
from aitrader.core.symbols import parse_dataset_name
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.store import HistoryStore

DEMO_EXCHANGE = "bittrex"
DEMO_TIMEFRAME = "5m"


@dataclass(frozen=True, slots=True)
class DemoResult:
    html_path: Path
    json_path: Path
    report: BacktestReport
    pairs: list[str]


def import_sample_data(datadir: Path) -> list[str]:
    """Store the bundled Bittrex 5m candles (real data, see sample_data/PROVENANCE.md); returns pairs."""
    store = HistoryStore(datadir)
    folder = resources.files("aitrader").joinpath("sample_data", "ohlcv")
    pairs = []
    for res in sorted(folder.iterdir(), key=lambda r: r.name):
        if not res.name.startswith(f"{DEMO_EXCHANGE}_") or not res.name.endswith(f"-{DEMO_TIMEFRAME}.csv"):
            continue
        info = parse_dataset_name(res.name)
        if info.kind != "spot":
            continue
        pairs.append(info.symbol)
        if not store.has(info.exchange, info.symbol, info.timeframe):
            with resources.as_file(res) as path:
                store.write(info.exchange, info.symbol, info.timeframe, read_ohlcv_csv(path))
    return pairs


def demo_settings() -> Settings:
    return load_settings(
        None,
        exchange={"name": DEMO_EXCHANGE},
        backtest={"starting_balance": "1"},
    )


def run_demo(workdir: Path, console: Console | None = None) -> DemoResult:
    console = console or Console()
    datadir = workdir / "data"
    pairs = import_sample_data(datadir)
    settings = demo_settings()
    spec = BacktestSpec(exchange=DEMO_EXCHANGE, pairs=pairs, timeframe=DEMO_TIMEFRAME)
    with progress_bar(console) as progress:
        result = run_backtest(settings, spec, datadir, progress)
    print_report(console, result.report)
    reports = workdir / "reports"
    html_path = result.report.write_html(reports / "demo.html")
    json_path = result.report.write_json(reports / "demo.json")
    return DemoResult(html_path, json_path, result.report, pairs)


__all__ = ["DemoResult", "import_sample_data", "run_demo"]
