"""Real candles and trades for the confluence tests (bundled files, see sample_data/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aitrader.config import ConfluenceConfig, Settings
from aitrader.confluence import Confluence
from aitrader.core.candles import OHLCV
from aitrader.strategies.sample import load_ohlcv_csv, sample_path

TRADES = sample_path().parent.parent / "trades"


@pytest.fixture(scope="session")
def btc5m() -> OHLCV:
    return load_ohlcv_csv(sample_path("binance_BTC_USDT_USDT-5m-futures.csv"))


@pytest.fixture
def confluence() -> Confluence:
    """The default configuration: the five default strategies, weight 1 each."""
    return Confluence.from_settings(Settings())


@pytest.fixture
def trades_dir() -> Path:
    return TRADES


@pytest.fixture
def config() -> ConfluenceConfig:
    return ConfluenceConfig()
