"""Real candles shared by the strategy tests (bundled files, see sample_data/PROVENANCE.md)."""

from __future__ import annotations

import pytest

from aitrader.core.candles import OHLCV
from aitrader.strategies.sample import load_ohlcv_csv, sample_path


@pytest.fixture(scope="session")
def btc5m() -> OHLCV:
    """Binance BTC/USDT perpetual, 5m, 10,999 candles (Jan-Feb 2023)."""
    return load_ohlcv_csv(sample_path("binance_BTC_USDT_USDT-5m-futures.csv"))


@pytest.fixture(scope="session")
def etc1m() -> OHLCV:
    """Bittrex ETC/BTC 1m with gaps and flat candles (the awkward real file)."""
    return load_ohlcv_csv(sample_path("bittrex_UNITTEST_BTC-1m.csv"))
