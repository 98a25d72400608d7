"""Fixture: each indicator test runs on every real-data file of `_indicator_data.FILES`."""

from __future__ import annotations

import pytest
from _indicator_data import FILES, load

from aitrader.core.candles import OHLCV


@pytest.fixture(params=FILES)
def candles(request: pytest.FixtureRequest) -> OHLCV:
    return load(request.param)
