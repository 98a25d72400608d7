"""`execution.entry_order: limit` reaches the backtest engine: the full stack on the bundled real data
enters with resting limit buys (different trades from market entries, entry prices at or below the
close of the decision bar), and a bad value is a config error naming the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aitrader.backtest.demo import import_sample_data
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import load_settings
from aitrader.core.errors import ConfigError


def _settings(**execution: object):  # type: ignore[no-untyped-def]
    return load_settings(
        None, exchange={"name": "bittrex"}, backtest={"starting_balance": "1"}, execution=execution
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    d = tmp_path_factory.mktemp("limit")
    return d, import_sample_data(d)


def test_limit_entries_trade_below_the_decision_close(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    spec = BacktestSpec("bittrex", pairs, "5m")
    market = run_backtest(_settings(), spec, datadir)
    limit = run_backtest(
        _settings(entry_order="limit", entry_limit_offset_bps="10", limit_entry_timeout_ms=600_000),
        spec,
        datadir,
    )
    assert len(limit.report.trades) > 10 and limit.report.fingerprint != market.report.fingerprint
    # a limit entry fills at its limit or better: at most the close that priced it less 10 bps. It was
    # priced off the decision bar's close or, re-priced after a 10-minute timeout (at most twice), off
    # a close up to 6 bars before the fill. Market entries (next open, slipped) break that bound.
    assert _above_limit(limit) == 0
    assert _above_limit(market) > len(market.report.trades) // 10


def _above_limit(result) -> int:  # type: ignore[no-untyped-def]
    trades, n = result.report.trades, 0
    for pair, c in result.report.candles.items():
        sel = trades.pair == pair
        for t, price in zip(trades.entry_time[sel], trades.entry_price[sel], strict=True):
            k = int(np.searchsorted(c.ts, t))  # the fill's candle
            bound = float(np.max(c.close[max(0, k - 6) : k])) * (1 - 0.001)
            n += price > bound + 1e-12
    return n


def test_bad_entry_order_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"execution\.entry_order"):
        _settings(entry_order="stop")
