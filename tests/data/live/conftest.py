"""Live market-data fixtures: the Kraken simulator over real ETH/BTC 5m candles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from live_helpers import ETH_BTC, START

from aitrader.venues.simulator import KrakenSimulator, Series, load_series


@pytest.fixture(scope="session")
def eth_btc() -> Series:
    return load_series(ETH_BTC)


@pytest.fixture
async def sim(eth_btc: Series) -> AsyncIterator[KrakenSimulator]:
    s = KrakenSimulator([eth_btc], start_ms=eth_btc.ts[START])
    await s.start()
    yield s
    await s.stop()
