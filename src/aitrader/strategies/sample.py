"""The bundled real OHLCV samples, used as default data by strategy tools (`check-lookahead`)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from aitrader.core.candles import OHLCV
from aitrader.data.csv_io import read_ohlcv_csv

DEFAULT_SAMPLE = "binance_BTC_USDT_USDT-5m-futures.csv"


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """Path of a bundled real OHLCV file (see sample_data/PROVENANCE.md)."""
    return Path(str(files("aitrader") / "sample_data" / "ohlcv" / name))


def load_ohlcv_csv(path: str | Path) -> OHLCV:
    """Candles of a `timestamp,open,high,low,close,volume` CSV (the data package's reader)."""
    return read_ohlcv_csv(path)
