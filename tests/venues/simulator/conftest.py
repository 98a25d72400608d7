"""Simulator fixtures: real bundled candles, a simulator on 127.0.0.1:0, real ccxt clients pointed at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import CoinbaseSimulator, KrakenSimulator, Series, load_series
from shared_data import SHARED

OHLCV = Path(__file__).resolve().parents[3] / "src" / "aitrader" / "sample_data" / "ohlcv"
FIXTURES = SHARED / "data/exchange-fixtures"
ETH_BTC = OHLCV / "bittrex_ETH_BTC-5m.csv"
BTC_USDT = OHLCV / "binance_BTC_USDT_USDT-5m-futures.csv"


def _load_fixture(kind: str, name: str = "kraken") -> Any:
    path = FIXTURES / kind / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())


@pytest.fixture
def ccxt_fixture() -> Callable[..., Any]:
    """Loader of ccxt's recorded static fixtures: ccxt_fixture("markets"), ccxt_fixture("response")."""
    return _load_fixture


@pytest.fixture(scope="session")
def eth_btc() -> Series:
    return load_series(ETH_BTC)


@pytest.fixture(scope="session")
def btc_usdt() -> Series:
    return load_series(BTC_USDT)


@pytest.fixture
async def sim(eth_btc: Series, btc_usdt: Series) -> AsyncIterator[KrakenSimulator]:
    """Clock stopped one hour into the ETH/BTC data (12 candles closed, the 13th just opened)."""
    s = KrakenSimulator([eth_btc, btc_usdt], start_ms=eth_btc.ts[12])
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def coinbase_sim(eth_btc: Series, btc_usdt: Series) -> AsyncIterator[CoinbaseSimulator]:
    """The Coinbase simulator at the same moment (the Coinbase modules alias it as `sim`)."""
    s = CoinbaseSimulator([eth_btc, btc_usdt], start_ms=eth_btc.ts[12])
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def client(sim: KrakenSimulator) -> AsyncIterator[Any]:
    acc = sim.add_account({"BTC": "2", "ETH": "10", "USDT": "100000"})
    ex = make_exchange(
        "kraken", sim.base_url, sim.ws_url, acc.api_key, acc.secret, pro=True, options={"rateLimit": 5}
    )
    yield ex
    await ex.close()
