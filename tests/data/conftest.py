"""Shared fixtures: the real recorded market data of /work/shared/data (bundled copy as fallback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_data import SHARED

_SHARED = SHARED / "data/ohlcv"
_BUNDLED = Path(__file__).resolve().parents[2] / "src" / "aitrader" / "sample_data" / "ohlcv"
OHLCV_DIR = _SHARED if _SHARED.is_dir() else _BUNDLED

# rows per file, from the README table of /work/shared/data
README_ROWS = {
    "binance_BTC_USDT_USDT-5m-futures.csv": 10999,
    "binance_XRP_USDT_USDT-5m-futures.csv": 1999,
    "binance_XRP_USDT_USDT-8h-futures.csv": 91,
    "bittrex_ADA_BTC-5m.csv": 5720,
    "bittrex_ETC_BTC-5m.csv": 5759,
    "bittrex_ETH_BTC-5m.csv": 5760,
    "bittrex_NXT_BTC-5m.csv": 5760,
    "bittrex_POWR_BTC-5m.csv": 5754,
    "bittrex_UNITTEST_BTC-1m.csv": 13681,
    "bittrex_UNITTEST_BTC-30m.csv": 1920,
    "bittrex_XLM_BTC-5m.csv": 5760,
    "unknown_XRP_USDT_USDT-1h-futures.csv": 100,
    "unknown_XRP_USDT_USDT-1h-mark.csv": 100,
}


@pytest.fixture(scope="session")
def ohlcv_dir() -> Path:
    return OHLCV_DIR


@pytest.fixture(scope="session")
def readme_rows() -> dict[str, int]:
    return dict(README_ROWS)
