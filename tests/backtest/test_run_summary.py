"""What a run reports about itself agrees with what it did: the fee rate in `settings` is the rate the
trades were charged, and entries risk refused are counted by reason in the summary and the printout."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from aitrader.backtest.console import print_report
from aitrader.backtest.demo import demo_settings, import_sample_data
from aitrader.backtest.reference import reference_trades
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.backtest.trades import TradeTable
from aitrader.config import StrategyRef, load_settings
from aitrader.core.candles import FloatArray
from aitrader.strategies.registry import create


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    d = tmp_path_factory.mktemp("sample")
    return d, import_sample_data(d)


def _reference(pairs: list[str], fee: Decimal | None) -> BacktestSpec:
    return BacktestSpec(
        "bittrex", pairs, "5m", strategies=[StrategyRef(name="ema_cross")], stake=Decimal(1000), fee=fee,
        no_stops=True,
    )


def _charged_rate(t: TradeTable) -> FloatArray:
    """Fee per unit of traded notional (both sides) of each trade."""
    out: FloatArray = t.fee / (t.amount * (t.entry_price + t.exit_price))
    return out


def test_reference_without_fee_charges_the_configured_taker_fee(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    settings = demo_settings()
    assert settings.backtest.taker_fee == Decimal("0.0026")  # the default this test is about
    report = run_backtest(settings, _reference(pairs[:2], None), datadir).report
    t = report.trades
    assert len(t) > 50
    assert report.settings["fee"] == "0.0026"
    np.testing.assert_allclose(_charged_rate(t), 0.0026, rtol=1e-12)
    assert report.summary["fees_paid"] == pytest.approx(float(t.fee.sum()), rel=1e-12)
    # the same trades as the vectorised reference at that rate
    candles = report.candles[pairs[0]]
    ref = reference_trades(candles, create("ema_cross").compute(candles).direction, 1000.0, 0.0026,
                           pairs[0], "ema_cross")
    mine = t.select(t.pair == pairs[0])
    np.testing.assert_allclose(mine.pnl, ref.pnl, rtol=1e-12)
    np.testing.assert_allclose(mine.fee, ref.fee, rtol=1e-12)


def test_reference_with_fee_reports_and_charges_it(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    settings = load_settings(None, exchange={"name": "bittrex"}, backtest={"taker_fee": "0.004"})
    for given, rate in ((Decimal("0.001"), 0.001), (None, 0.004)):
        report = run_backtest(settings, _reference(pairs[:1], given), datadir).report
        assert float(report.settings["fee"]) == rate
        assert report.settings["maker_fee"] is None
        np.testing.assert_allclose(_charged_rate(report.trades), rate, rtol=1e-12)


def test_full_stack_fees_are_the_reported_rates(store: tuple[Path, list[str]]) -> None:
    """Entries, stops and exit signals are taker fills; take-profits rest as limits and fill as makers
    (or as takers when the open is already through them on their first candle)."""
    datadir, pairs = store
    report = run_backtest(demo_settings(), BacktestSpec("bittrex", pairs, "5m"), datadir).report
    t = report.trades
    taker, maker = float(report.settings["fee"]), float(report.settings["maker_fee"])
    assert (taker, maker) == (0.0026, 0.0016)
    exit_rate = (t.fee - taker * t.amount * t.entry_price) / (t.amount * t.exit_price)
    is_maker = np.isclose(exit_rate, maker, rtol=1e-9, atol=0)
    assert np.all(is_maker | np.isclose(exit_rate, taker, rtol=1e-9, atol=0))
    assert set(t.exit_reason[is_maker]) == {"take_profit"}
    assert report.summary["fees_paid"] == pytest.approx(float(t.fee.sum()), rel=1e-12)


def test_rejections_reach_the_summary(store: tuple[Path, list[str]], tmp_path: Path) -> None:
    datadir, pairs = store
    assert len(pairs) == 6
    settings = load_settings(
        None, exchange={"name": "bittrex"}, backtest={"starting_balance": "1"}, risk={"max_open_positions": 1}
    )
    result = run_backtest(settings, BacktestSpec("bittrex", pairs, "5m"), datadir)
    assert result.stats is not None
    rej = result.report.summary["rejections"]
    assert rej == result.stats.rejections
    assert rej["max_positions"] > 100  # six pairs, one slot
    assert all(isinstance(k, str) and n > 0 for k, n in rej.items())
    assert list(rej) == sorted(rej)
    assert result.report.summary["venue_rejections"] == result.stats.venue_rejections

    doc = json.loads(result.report.write_json(tmp_path / "r.json").read_text())
    assert doc["summary"]["rejections"] == rej
    html = result.report.write_html(tmp_path / "r.html").read_text()
    assert f"max_positions {rej['max_positions']}" in html

    console = Console(record=True, width=200)
    print_report(console, result.report)
    text = console.export_text()
    line = next(ln for ln in text.splitlines() if "rejected entries" in ln)
    assert f"{sum(rej.values())} (max_positions {rej['max_positions']}" in line

    # the default limits (five positions) refuse fewer entries for lack of a free slot
    default = run_backtest(demo_settings(), BacktestSpec("bittrex", pairs, "5m"), datadir)
    assert default.report.summary["rejections"].get("max_positions", 0) < rej["max_positions"]


def test_reference_mode_reports_no_rejections(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    s = run_backtest(demo_settings(), _reference(pairs[:1], None), datadir).report.summary
    assert s["rejections"] == {} and s["venue_rejections"] == 0
