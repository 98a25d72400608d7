"""Coinbase Advanced Trade market data of the simulator, read by a real ccxt `coinbase` client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pytest
from coinbase_sim_helpers import FIVE_MIN, coinbase_client, recorded, shape

from aitrader.data.download import download_ohlcv
from aitrader.data.store import HistoryStore
from aitrader.venues.simulator import CoinbaseSimulator, Series


@pytest.fixture
def sim(coinbase_sim: CoinbaseSimulator) -> CoinbaseSimulator:
    return coinbase_sim


@pytest.fixture
async def client(sim: CoinbaseSimulator) -> AsyncIterator[Any]:
    acc = sim.add_account({"BTC": "1"})
    ex = coinbase_client(sim, acc.api_key, acc.secret)
    yield ex
    await ex.close()


async def test_markets_match_coinbase_listing(client: Any) -> None:
    markets = await client.load_markets()
    want = recorded("markets")["BTC/USDT"]
    ours = markets["BTC/USDT"]
    assert ours["id"] == want["id"] == "BTC-USDT"
    assert (ours["type"], ours["spot"], ours["active"]) == ("spot", True, True)
    assert set(want["info"]) <= set(ours["info"])  # every field Coinbase sends for the product
    for key in ("base_increment", "quote_increment", "base_min_size", "quote_min_size", "product_type"):
        assert ours["info"][key] == want["info"][key], key
    assert ours["precision"] == want["precision"]
    assert ours["limits"]["amount"]["min"] == want["limits"]["amount"]["min"]
    assert ours["limits"]["cost"] == want["limits"]["cost"]
    # the fee tier comes from our transaction_summary (Advanced 1), the rates the engine charges
    assert (ours["taker"], ours["maker"]) == (0.006, 0.004)
    eth = markets["ETH/BTC"]
    assert eth["id"] == "ETH-BTC" and eth["precision"]["price"] == 1e-8  # widened to the data's 8 decimals


async def test_time_is_the_replay_clock(client: Any, sim: CoinbaseSimulator, eth_btc: Series) -> None:
    assert await client.fetch_time() == eth_btc.ts[12]  # v2 /time (ccxt's default)
    sim.advance(3_600_000)
    assert await client.fetch_time({"method": "v3PublicGetBrokerageTime"}) == eth_btc.ts[12] + 3_600_000


async def test_ohlcv_replays_source_rows_and_hides_the_future(
    client: Any, sim: CoinbaseSimulator, eth_btc: Series
) -> None:
    rows = await client.fetch_ohlcv("ETH/BTC", "5m", since=eth_btc.ts[0])
    assert len(rows) == 13  # 12 closed candles, then the forming one, nothing from the future
    for got, src in zip(rows[:12], eth_btc.rows[:12], strict=True):
        assert got == [src.ts, *(float(getattr(src, k)) for k in ("open", "high", "low", "close", "volume"))]
    forming = rows[12]
    assert forming[0] == eth_btc.ts[12] and forming[1] == forming[2] == forming[3] == forming[4]
    with pytest.raises(ccxt.BadRequest, match="granularity"):
        await client.fetch_ohlcv("ETH/BTC", "1h", since=eth_btc.ts[0])  # the replay has 5m only


async def test_a_candles_request_spans_at_most_350(
    client: Any, sim: CoinbaseSimulator, eth_btc: Series
) -> None:
    sim.advance_to(eth_btc.ts[-1] + FIVE_MIN)
    since = eth_btc.ts[0]
    ok = await client.fetch_ohlcv("ETH/BTC", "5m", since=since, params={"until": since + 349 * FIVE_MIN})
    assert len(ok) == 300 and ok[0][0] == since  # 350 served, newest first; ccxt keeps its first 300
    assert ok == sorted(ok) and ok[-1][0] == eth_btc.ts[299]
    with pytest.raises(ccxt.BadRequest, match="350"):
        await client.fetch_ohlcv("ETH/BTC", "5m", since=since, params={"until": since + 351 * FIVE_MIN})


async def test_ticker_and_book_around_the_replayed_price(
    client: Any, sim: CoinbaseSimulator, eth_btc: Series
) -> None:
    sim.advance(FIVE_MIN // 2)
    ticker = await client.fetch_ticker("ETH/BTC")
    want = recorded("response")["methods"]["fetchTicker"][0]["parsedResponse"]
    assert set(want) <= set(ticker)
    assert {k: shape(ticker[k]) for k in ("symbol", "timestamp", "bid", "ask", "last", "info")} == {
        k: shape(want[k]) for k in ("symbol", "timestamp", "bid", "ask", "last", "info")
    }
    # the last public trade is the latest closed candle's close (the synthetic tape ends there)
    assert ticker["last"] == float(eth_btc.rows[11].close)
    assert ticker["timestamp"] <= sim.now()
    mid = float(eth_btc.rows[12].open)  # the forming candle's open is the market now
    assert ticker["bid"] < mid < ticker["ask"] and (ticker["ask"] - ticker["bid"]) / mid < 0.001
    book = await client.fetch_order_book("ETH/BTC", 10)
    assert (book["bids"][0][0], book["asks"][0][0]) == (ticker["bid"], ticker["ask"])
    assert len(book["bids"]) == len(book["asks"]) == 10
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    assert book["timestamp"] == sim.now()
    tick = Decimal("0.00000001")
    assert all(Decimal(str(p)) % tick == 0 and q > 0 for p, q in book["bids"] + book["asks"])
    with pytest.raises(ccxt.ExchangeError, match="NOT_FOUND"):
        await client.v3PublicGetBrokerageMarketProductsProductId({"product_id": "NOPE-USD"})


@pytest.fixture
def closed_sim(eth_btc: Series) -> Iterator[CoinbaseSimulator]:
    s = CoinbaseSimulator([eth_btc], start_ms=eth_btc.ts[-1] + eth_btc.tf_ms)  # every candle closed
    with s.running():
        yield s


def test_download_equals_the_source_csv(
    closed_sim: CoinbaseSimulator, eth_btc: Series, tmp_path: Path
) -> None:
    store = HistoryStore(tmp_path)
    added = download_ohlcv(
        "coinbase", ["ETH/BTC"], "5m", eth_btc.ts[0], None, store, closed_sim.base_url,
        rate_limit_ms=1, backoff_base_s=0.01, backoff_max_s=0.05,
    )  # fmt: skip
    assert added == {"ETH/BTC": len(eth_btc)}
    got = store.read("coinbase", "ETH/BTC", "5m")
    assert np.array_equal(got.ts, np.array(eth_btc.ts, dtype=np.int64))
    for name in ("open", "high", "low", "close", "volume"):
        want = np.array([float(getattr(r, name)) for r in eth_btc.rows])
        assert np.array_equal(getattr(got, name), want), name
    calls = [q for _, _, path, q in closed_sim.requests if path.endswith("/candles")]
    assert len(calls) >= len(eth_btc) // 300  # paginated by ccxt's 300-candle pages
    assert all((int(q["end"]) - int(q["start"])) // 300 <= 350 for q in calls)
    assert all(q["granularity"] == "FIVE_MINUTE" for q in calls)
