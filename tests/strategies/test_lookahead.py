"""The guard passes honest strategies on real data and catches deliberate leaks."""

from __future__ import annotations

import numpy as np
import pytest

from aitrader.core.candles import OHLCV
from aitrader.strategies import registry
from aitrader.strategies.base import Strategy
from aitrader.strategies.lookahead import check_lookahead
from aitrader.strategies.sample import load_ohlcv_csv, sample_path
from leaky_strategies import CentredMean, ClosedHigherCandle, FormingHigherCandle, NextClose

REAL_FILES = (
    "binance_BTC_USDT_USDT-5m-futures.csv",
    "bittrex_UNITTEST_BTC-1m.csv",  # gaps and flat candles
    "bittrex_ADA_BTC-5m.csv",  # a 33-candle hole
    "binance_XRP_USDT_USDT-5m-futures.csv",
)


@pytest.mark.parametrize("file", REAL_FILES)
@pytest.mark.parametrize("name", sorted(registry.available()))
def test_every_builtin_passes_on_real_data(name: str, file: str) -> None:
    report = check_lookahead(registry.create(name), load_ohlcv_csv(sample_path(file)), samples=24)
    assert report.ok, report.summary()
    assert len(report.cut_points) >= 12


@pytest.mark.parametrize("leaky", [NextClose, CentredMean, FormingHigherCandle])
def test_leaks_are_caught(btc5m: OHLCV, leaky: type[Strategy]) -> None:
    report = check_lookahead(leaky(), btc5m, samples=20)
    assert not report.ok
    assert "LOOKAHEAD" in report.summary()
    v = report.violations[0]
    assert v.bar < v.cut  # a bar the prefix did contain changed


def test_higher_timeframe_through_align_closed_is_honest(btc5m: OHLCV) -> None:
    report = check_lookahead(ClosedHigherCandle(), btc5m, samples=20)
    assert report.ok, report.summary()
    assert report.signals > 50


def test_no_false_alarm_from_sampling(btc5m: OHLCV) -> None:
    """Cut points include bars right after signals, where leaks show."""
    s = registry.create("ema_cross")
    report = check_lookahead(s, btc5m, samples=10)
    fired = np.flatnonzero(s.compute(btc5m).direction) + 1
    assert set(report.cut_points) & set(fired.tolist())
