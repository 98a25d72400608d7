"""Coinbase Advanced Trade WebSocket of the simulator, consumed by a real ccxt.pro coinbase client
(and a raw socket where ccxt has no method: candles, heartbeats, the exact error messages)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from coinbase_sim_helpers import FIVE_MIN, ec_key_pair
from sim_wait import eventually

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import CoinbaseSimulator, Series
from aitrader.venues.simulator.coinbase_auth import make_jwt

KEY = "organizations/1a2b3c4d-0000-4000-8000-000000000001/apiKeys/9f8e7d6c-0000-4000-8000-000000000002"


@pytest.fixture
def sim(coinbase_sim: CoinbaseSimulator) -> CoinbaseSimulator:
    return coinbase_sim


def _client(sim: CoinbaseSimulator, key: str, secret: str) -> Any:
    return make_exchange(
        "coinbase", sim.base_url, sim.ws_url, key, secret, pro=True, options={"rateLimit": 5}
    )


@pytest.fixture
async def client(sim: CoinbaseSimulator) -> AsyncIterator[Any]:
    acc = sim.add_account({"BTC": "2", "ETH": "10", "USDT": "100000"})
    ex = _client(sim, acc.api_key, acc.secret)
    yield ex
    await ex.close()


class Raw:
    """A bare WebSocket on the simulator's `/ws`: send requests, read messages by channel."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **req: Any) -> None:
        await self.ws.send_str(json.dumps(req))

    async def next(self, channel: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        """The next message of `channel` (or an error message when channel is None)."""
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            body: dict[str, Any] = json.loads(msg.data)
            if (channel is None and body.get("type") == "error") or body.get("channel") == channel:
                return body


@pytest.fixture
async def raw(sim: CoinbaseSimulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws") as ws:
        yield Raw(ws)


def test_factory_points_ccxt_at_the_simulator_ws(sim: CoinbaseSimulator) -> None:
    ex = make_exchange("coinbase", sim.base_url, sim.ws_url, pro=True)
    assert ex.urls["api"]["ws"] == sim.ws_url + "/ws"


async def test_watch_ticker_follows_the_replay(client: Any, sim: CoinbaseSimulator, eth_btc: Series) -> None:
    t = await asyncio.wait_for(client.watch_ticker("ETH/BTC"), 5)
    assert t["symbol"] == "ETH/BTC" and t["last"] == float(eth_btc.rows[12].open)
    assert t["timestamp"] == eth_btc.ts[12]  # replay time
    assert t["bid"] < t["last"] < t["ask"] and t["bidVolume"] > 0 and t["askVolume"] > 0
    day = eth_btc.rows[:12]
    assert t["high"] == max(float(r.high) for r in day)  # the closed candles, the forming one at its open
    assert t["baseVolume"] > 0
    book = await client.fetch_order_book("ETH/BTC")
    assert [t["bid"], t["bidVolume"]] == book["bids"][0] and [t["ask"], t["askVolume"]] == book["asks"][0]
    sim.advance(FIVE_MIN)
    t = await asyncio.wait_for(client.watch_ticker("ETH/BTC"), 5)
    assert t["last"] == float(eth_btc.rows[13].open) and t["timestamp"] == eth_btc.ts[13]


async def test_watch_tickers_uses_ticker_batch(client: Any, sim: CoinbaseSimulator, btc_usdt: Series) -> None:
    sim.advance_to(btc_usdt.ts[3])
    tickers = await asyncio.wait_for(client.watch_tickers(["BTC/USDT", "ETH/BTC"]), 5)
    await eventually(lambda: set(client.tickers) == {"BTC/USDT", "ETH/BTC"})
    assert client.tickers["BTC/USDT"]["last"] == float(btc_usdt.rows[3].open)
    assert all(t["bid"] is None for t in tickers.values())  # ticker_batch carries no best bid/ask


async def test_watch_order_book_is_the_rest_book(client: Any, sim: CoinbaseSimulator) -> None:
    ob = await asyncio.wait_for(client.watch_order_book("ETH/BTC"), 5)
    rest = await client.fetch_order_book("ETH/BTC")
    assert len(ob["bids"]) == len(ob["asks"]) == 50
    assert ob["bids"] == rest["bids"] and ob["asks"] == rest["asks"]
    assert ob["bids"][0][0] < ob["asks"][0][0]
    first_ask = ob["asks"][0]
    sim.advance(FIVE_MIN)  # a new candle: a new book, sent as a diff
    ob = await asyncio.wait_for(client.watch_order_book("ETH/BTC"), 5)
    rest = await client.fetch_order_book("ETH/BTC")
    assert ob["asks"][0] != first_ask
    assert ob["bids"] == rest["bids"] and ob["asks"] == rest["asks"]


async def test_level2_raw_snapshot_and_diffs(raw: Raw, sim: CoinbaseSimulator) -> None:
    await raw.send(type="subscribe", channel="level2", product_ids=["ETH-BTC"])
    subs = await raw.next("subscriptions")
    assert subs["events"] == [{"subscriptions": {"level2": ["ETH-BTC"]}}]
    snap = await raw.next("l2_data")
    (event,) = snap["events"]
    assert event["type"] == "snapshot" and event["product_id"] == "ETH-BTC"
    book = {(u["side"], u["price_level"]): u["new_quantity"] for u in event["updates"]}
    sim.advance(FIVE_MIN)
    upd = await raw.next("l2_data")
    assert upd["sequence_num"] > snap["sequence_num"] and upd["events"][0]["type"] == "update"
    for u in upd["events"][0]["updates"]:
        assert u["side"] in ("bid", "offer") and u["event_time"] == upd["timestamp"]
        if Decimal(u["new_quantity"]) == 0:
            book.pop((u["side"], u["price_level"]))  # only levels that were there vanish
        else:
            book[(u["side"], u["price_level"])] = u["new_quantity"]
    async with aiohttp.ClientSession() as s:
        url = sim.base_url + "/api/v3/brokerage/market/product_book?product_id=ETH-BTC"
        async with s.get(url) as r:
            rest = (await r.json())["pricebook"]
    want = {("bid", lv["price"]): lv["size"] for lv in rest["bids"]}
    want |= {("offer", lv["price"]): lv["size"] for lv in rest["asks"]}
    assert book == want


async def test_watch_trades_are_the_rest_trades(client: Any, sim: CoinbaseSimulator, eth_btc: Series) -> None:
    trades = await asyncio.wait_for(client.watch_trades("ETH/BTC"), 5)
    assert len(trades) == 48  # four per closed candle, twelve candles
    assert trades[-1]["timestamp"] == eth_btc.ts[11] + 3 * FIVE_MIN // 4  # ascending in ccxt's cache
    assert trades[-1]["price"] == float(eth_btc.rows[11].close)
    rest = await client.fetch_trades("ETH/BTC", limit=48)
    assert sorted(t["id"] for t in trades) == sorted(t["id"] for t in rest)
    sim.advance(FIVE_MIN)  # candle 12 closes: its four trades
    new = await asyncio.wait_for(client.watch_trades("ETH/BTC"), 5)
    assert [t["timestamp"] for t in new] == [eth_btc.ts[12] + k * FIVE_MIN // 4 for k in range(4)]
    r12 = eth_btc.rows[12]
    assert new[0]["price"] == float(r12.open) and new[-1]["price"] == float(r12.close)


async def test_candles_channel(raw: Raw, sim: CoinbaseSimulator, eth_btc: Series) -> None:
    await raw.send(type="subscribe", channel="candles", product_ids=["ETH-BTC"])
    snap = await raw.next("candles")
    (event,) = snap["events"]
    assert event["type"] == "snapshot" and len(event["candles"]) == 13
    forming, last = event["candles"][:2]  # newest first
    r12, r11 = eth_btc.rows[12], eth_btc.rows[11]
    assert forming == {"start": str(r12.ts // 1000), "open": r12.open, "high": r12.open, "low": r12.open,
                       "close": r12.open, "volume": forming["volume"], "product_id": "ETH-BTC"}  # fmt: skip
    assert (last["open"], last["high"], last["low"], last["close"], last["volume"]) == (
        r11.open, r11.high, r11.low, r11.close, r11.volume,
    )  # fmt: skip
    sim.advance(FIVE_MIN)
    upd = await raw.next("candles")
    (event,) = upd["events"]
    assert event["type"] == "update"
    assert [c["start"] for c in event["candles"]] == [str(eth_btc.ts[13] // 1000), str(r12.ts // 1000)]
    assert event["candles"][1]["high"] == r12.high and event["candles"][1]["close"] == r12.close


async def test_heartbeats_and_unsubscribe(raw: Raw, sim: CoinbaseSimulator) -> None:
    await raw.send(type="subscribe", channel="heartbeats")
    await raw.send(type="subscribe", channel="ticker", product_ids=["ETH-BTC", "BTC-USDT"])
    beat = await raw.next("heartbeats")
    assert beat["events"][0]["heartbeat_counter"] == 1
    await raw.send(type="unsubscribe", channel="ticker", product_ids=["ETH-BTC"])
    subs = await raw.next("subscriptions")
    while subs["events"][0]["subscriptions"].get("ticker") != ["BTC-USDT"]:
        subs = await raw.next("subscriptions")
    assert subs["events"] == [{"subscriptions": {"heartbeats": [], "ticker": ["BTC-USDT"]}}]
    await raw.send(type="subscribe", channel="ticker", product_ids=["NOPE-USD"])
    err = await raw.next()
    assert err["message"] == "Failed to subscribe" and "NOPE-USD" in err["reason"]


async def test_watch_orders_open_partial_filled(client: Any, sim: CoinbaseSimulator, eth_btc: Series) -> None:
    assert await asyncio.wait_for(client.watch_orders(), 5) == []  # the snapshot: no open orders
    placed = await client.create_order("ETH/BTC", "market", "sell", 0.5)
    (o,) = await asyncio.wait_for(client.watch_orders(), 5)
    assert (o["id"], o["status"], o["side"], o["symbol"]) == (placed["id"], "open", "sell", "ETH/BTC")
    assert o["clientOrderId"] == placed["clientOrderId"] and o["filled"] == 0 and o["remaining"] == 0.5
    assert o["timestamp"] == eth_btc.ts[12] and o["info"]["order_type"] == "Market"
    sim.faults.burst("partial")  # the next fill covers only part of the order
    sim.advance(FIVE_MIN)
    (o,) = await asyncio.wait_for(client.watch_orders(), 5)
    assert o["status"] == "open" and 0 < o["filled"] < 0.5 and o["filled"] + o["remaining"] == 0.5
    assert o["average"] == float(eth_btc.rows[13].open) and o["info"]["number_of_fills"] == "1"
    sim.advance(FIVE_MIN)  # the rest at the next open
    (o,) = await asyncio.wait_for(client.watch_orders(), 5)
    assert o["status"] == "closed" and o["filled"] == 0.5 and o["remaining"] == 0
    rest = await client.fetch_order(placed["id"])
    assert rest["status"] == "closed" and rest["filled"] == o["filled"] and rest["average"] == o["average"]
    assert rest["info"]["total_fees"] == o["info"]["total_fees"] == o["fee"]["amount"]  # ccxt: "amount"
    assert rest["info"]["filled_value"] == o["info"]["filled_value"]


async def test_watch_orders_sees_a_cancel_and_resting_orders(client: Any, sim: CoinbaseSimulator) -> None:
    resting = await client.create_order("ETH/BTC", "limit", "buy", 1, 0.01)
    (o,) = await asyncio.wait_for(client.watch_orders("ETH/BTC"), 5)  # the snapshot has it
    assert o["id"] == resting["id"] and o["status"] == "open" and o["price"] == 0.01
    assert o["info"]["outstanding_hold_amount"] == "0.01006"  # price * size * (1 + taker fee)
    await client.cancel_order(resting["id"])
    (o,) = await asyncio.wait_for(client.watch_orders("ETH/BTC"), 5)
    assert o["id"] == resting["id"] and o["status"] == "canceled" and o["info"]["status"] == "CANCELLED"


async def test_user_channel_needs_a_valid_jwt(raw: Raw, sim: CoinbaseSimulator) -> None:
    pem, public = ec_key_pair()
    sim.add_account({"BTC": "1"}, api_key=KEY, public_key=public)
    other_pem, _ = ec_key_pair()
    await raw.send(type="subscribe", channel="user", product_ids=[], jwt=make_jwt(KEY, other_pem, None))
    assert await raw.next() == {"type": "error", "message": "authentication failure"}
    await raw.send(type="subscribe", channel="user", product_ids=[])  # no jwt at all
    assert (await raw.next())["message"] == "authentication failure"
    expired = make_jwt(KEY, pem, None, now_s=int(time.time()) - 600)
    await raw.send(type="subscribe", channel="user", product_ids=[], jwt=expired)
    assert (await raw.next())["message"] == "authentication failure"
    legacy = {"api_key": KEY, "timestamp": "1", "signature": "x"}
    await raw.send(type="subscribe", channel="user", product_ids=[], **legacy)
    assert (await raw.next())["message"] == "authentication failure"  # legacy HMAC keys are gone
    assert sim.auth_failures == [
        "bad signature", "no jwt", "token expired or not yet valid", "legacy API key signature",
    ]  # fmt: skip
    await raw.send(type="subscribe", channel="user", product_ids=[], jwt=make_jwt(KEY, pem, None))
    snap = await raw.next("user")
    assert snap["events"][0]["type"] == "snapshot" and snap["events"][0]["orders"] == []


async def test_ccxt_with_a_forged_key_gets_no_orders(sim: CoinbaseSimulator) -> None:
    pem, public = ec_key_pair()
    sim.add_account({"BTC": "1"}, api_key=KEY, public_key=public)
    other_pem, _ = ec_key_pair()
    good = _client(sim, KEY, pem)
    forged = _client(sim, KEY, other_pem)  # right key name, wrong private key
    try:
        await good.load_markets()
        forged.set_markets(good.markets, good.currencies)  # its own REST calls fail: 401
        task = asyncio.create_task(forged.watch_orders())
        await eventually(lambda: sim.auth_failures == ["bad signature"])
        (conn,) = sim.ws.conns
        assert "user" not in conn.subs and conn.api_key is None and not task.done()
        task.cancel()
    finally:
        await forged.close()
        await good.close()


async def test_dropped_socket_fault(raw: Raw, sim: CoinbaseSimulator) -> None:
    await raw.send(type="subscribe", channel="ticker", product_ids=["ETH-BTC"])
    await raw.next("ticker")  # the snapshot is never faulted
    sim.faults.burst("duplicate_ws")
    sim.advance(FIVE_MIN)
    a, b = await raw.next("ticker"), await raw.next("ticker")
    assert a == b and a["events"][0]["type"] == "update"  # same message, same sequence_num
    sim.faults.burst("drop_ws")
    sim.advance(FIVE_MIN)
    msg = await asyncio.wait_for(raw.ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
