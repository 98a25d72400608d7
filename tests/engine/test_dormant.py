"""Once the kill switch is on and nothing is held or open, the engine stops asking for entry signals.

Why a test: that skip is only safe in exactly that state (while anything is held, every event
flattens and reschedules the other symbols). The dense feed (every candle, as live) is the yardstick:
same trades, far fewer events."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from aitrader.backtest.demo import import_sample_data
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import load_settings
from aitrader.core.orders import Order, OrderRequest, OrderType, Side
from aitrader.engine import engine as engine_module
from aitrader.engine import feed as feed_module
from aitrader.engine.feed import HistoricalFeed
from aitrader.engine.interest import interest_for


def test_interest_without_entries() -> None:
    assert interest_for([], False).signals == {1}
    assert interest_for([], False, entries_possible=False).signals == frozenset()
    assert interest_for([], True, entries_possible=False).signals == {-1}  # exits still matter
    stop = OrderRequest("c1", "ETH/BTC", Side.SELL, OrderType.STOP_MARKET, Decimal(1), stop_price=Decimal(2))
    got = interest_for([Order(stop)], True, entries_possible=False)
    assert got.low_at_or_below == 2.0 and got.signals == {-1}


@pytest.mark.interpreted
def test_killed_and_flat_engine_skips_entry_signals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = import_sample_data(tmp_path)[:3]
    settings = load_settings(
        None, exchange={"name": "bittrex"}, backtest={"starting_balance": "1"}, risk={"max_drawdown": "0.01"}
    )
    spec = BacktestSpec(exchange="bittrex", pairs=pairs, timeframe="5m")
    dormant_checks: list[bool] = []
    original_dormant = engine_module.Engine._dormant

    def spy(self: engine_module.Engine) -> bool:
        got = original_dormant(self)
        dormant_checks.append(got)
        return got

    monkeypatch.setattr(engine_module.Engine, "_dormant", spy)
    sparse = run_backtest(settings, spec, tmp_path)
    assert any(dormant_checks), "the kill switch never tripped with nothing held: the test proves nothing"

    monkeypatch.setattr(engine_module.Engine, "_dormant", lambda self: False)
    undormant = run_backtest(settings, spec, tmp_path)
    original = feed_module.HistoricalFeed.__init__

    def every_candle(self: HistoricalFeed, *args: object, **kwargs: object) -> None:
        kwargs["skip"] = False
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_module.HistoricalFeed, "__init__", every_candle)
    dense = run_backtest(settings, spec, tmp_path)
    assert sparse.stats is not None and undormant.stats is not None and dense.stats is not None
    assert len(sparse.report.trades) > 0
    assert sparse.report.fingerprint == undormant.report.fingerprint == dense.report.fingerprint
    assert sparse.stats.events < undormant.stats.events / 2
