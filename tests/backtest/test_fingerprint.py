"""Trade fingerprints of fixed backtests over the bundled real data (src/aitrader/sample_data/ohlcv/).

Any change of results (strategy, confluence, risk, venue, engine) changes a hash here. When a change
is intended, run the test, check the new trade list makes sense, and update the constant with the
reason in the commit message.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aitrader.backtest.demo import demo_settings, import_sample_data
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import StrategyRef

REFERENCE_FP = "82c6ca0649eec78a88173e4d2f3785cc91f6a8fa2eb3e2f15b8ea0de25050353"
# the confluence 1h candles no longer include the first hour, of which the data holds only 04:55
FULL_STACK_FP = "e4223146c1c65f7f782377c64607d89fff83e8f67c214ce31bad4213b07d8acf"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    d = tmp_path_factory.mktemp("sample")
    return d, import_sample_data(d)


def test_reference_fingerprint(sample_store: tuple[Path, list[str]]) -> None:
    datadir, pairs = sample_store
    assert len(pairs) == 6
    spec = BacktestSpec(
        "bittrex", pairs, "5m", strategies=[StrategyRef(name="ema_cross")], stake=Decimal(1000),
        fee=Decimal("0.001"), no_stops=True,
    )
    report = run_backtest(demo_settings(), spec, datadir).report
    assert len(report.trades) == 732
    assert report.trades.pnl.sum() == pytest.approx(-2013.4567107569792, rel=1e-9)
    assert report.fingerprint == REFERENCE_FP


def test_full_stack_fingerprint(sample_store: tuple[Path, list[str]]) -> None:
    datadir, pairs = sample_store
    result = run_backtest(demo_settings(), BacktestSpec("bittrex", pairs, "5m"), datadir)
    assert result.mode == "full"
    assert len(result.report.trades) == 1023
    assert result.report.fingerprint == FULL_STACK_FP
