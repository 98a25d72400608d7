"""Kraken private REST of the simulator: signing, nonces, orders, fills and balances, via real ccxt."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt
import pytest

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import KrakenSimulator, Series
from aitrader.venues.simulator.kraken_auth import kraken_signature

FIVE_MIN = 300_000


def _shape(x: Any) -> Any:
    """Structure of a parsed ccxt object: keys and value kinds (numbers alike), recursively."""
    if isinstance(x, dict):
        return {k: _shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_shape(v) for v in x[:1]]
    if isinstance(x, bool) or x is None:
        return type(x).__name__
    if isinstance(x, int | float):
        return "number"
    return type(x).__name__


async def test_parsed_orders_have_the_recorded_kraken_shape(
    client: Any, sim: KrakenSimulator, ccxt_fixture: Any
) -> None:
    recorded = ccxt_fixture("response")["methods"]
    created = await client.create_order("ETH/BTC", "market", "buy", 0.1)
    want = recorded["createOrder"][0]["parsedResponse"]
    assert set(want) <= set(created)
    assert {k: _shape(created[k]) for k in ("id", "symbol", "type", "side", "amount", "info")} == {
        k: _shape(want[k]) for k in ("id", "symbol", "type", "side", "amount", "info")
    }
    sim.advance(FIVE_MIN)
    closed = await client.fetch_order(created["id"])
    want_closed = recorded["fetchOrder"][1]["parsedResponse"]  # "closed market order"
    for key in ("status", "type", "side", "amount", "filled", "remaining", "average", "cost", "timestamp"):
        assert _shape(closed[key]) == _shape(want_closed[key]), key
    assert set(want_closed["info"]) <= set(closed["info"])
    assert closed["status"] == "closed" and closed["remaining"] == 0
    limit = await client.create_order("ETH/BTC", "limit", "buy", 0.1, 0.05)
    (opened,) = await client.fetch_open_orders()
    want_open = recorded["fetchOrder"][0]["parsedResponse"]  # "fetch spot limit order" (open)
    assert opened["id"] == limit["id"]
    for key in (
        "status",
        "type",
        "side",
        "price",
        "amount",
        "filled",
        "remaining",
        "timestamp",
        "clientOrderId",
    ):
        assert _shape(opened[key]) == _shape(want_open[key]), key
    assert set(want_open["info"]) <= set(opened["info"])


async def test_market_order_fills_at_next_open_and_moves_balances(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    order = await client.create_order("ETH/BTC", "market", "buy", 1.5)
    assert (await client.fetch_order(order["id"]))["status"] == "open"  # the next candle has not opened
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(order["id"])
    px = Decimal(eth_btc.rows[13].open)
    assert done["status"] == "closed" and done["average"] == float(px)
    cost = (Decimal("1.5") * px).quantize(Decimal("1E-10"))
    fee = (cost * Decimal("0.0026")).quantize(Decimal("1E-10"))
    bal = await client.fetch_balance()
    assert Decimal(bal["info"]["result"]["XETH"]["balance"]) == Decimal("11.5")
    assert Decimal(bal["info"]["result"]["XXBT"]["balance"]) == Decimal(2) - cost - fee
    (trade,) = await client.fetch_my_trades("ETH/BTC")
    assert trade["order"] == order["id"] and trade["takerOrMaker"] == "taker"
    assert trade["timestamp"] == eth_btc.ts[13]


async def test_limit_fills_only_when_traded_through(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    # the first later candle whose low goes strictly below the limit, with earlier lows all above it
    k = 13
    later = eth_btc.rows[k:]
    price = min(Decimal(r.low) for r in later[:10]) + Decimal("0.00000001")
    hit = next(i for i, r in enumerate(later) if Decimal(r.low) < price) + k
    assert Decimal(eth_btc.rows[hit].open) > price  # not marketable at that open
    order = await client.create_order("ETH/BTC", "limit", "buy", 1, float(price))
    sim.advance_to(eth_btc.ts[hit] + FIVE_MIN - 1)
    assert (await client.fetch_order(order["id"]))["status"] == "open"  # candle still forming
    bal = await client.fetch_balance()
    assert bal["BTC"]["used"] == pytest.approx(float(price * Decimal("1.0026")))  # reserved
    sim.advance(1)
    done = await client.fetch_order(order["id"])
    assert done["status"] == "closed" and done["average"] == float(price)
    (trade,) = await client.fetch_my_trades("ETH/BTC")
    assert trade["takerOrMaker"] == "maker"
    assert trade["fee"]["cost"] == float((price * Decimal("0.0016")).quantize(Decimal("1E-10")))


async def test_client_order_id_makes_add_order_idempotent(client: Any) -> None:
    a = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"clientOrderId": "entry-1"})
    b = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"clientOrderId": "entry-1"})
    c = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"userref": 42})
    d = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"userref": 42})
    assert a["id"] == b["id"] and c["id"] == d["id"] and a["id"] != c["id"]
    opened = await client.fetch_open_orders()
    assert sorted(o["id"] for o in opened) == sorted([a["id"], c["id"]])
    assert {o["clientOrderId"] for o in opened} == {"entry-1", "42"}


async def test_cancel_and_closed_orders(client: Any) -> None:
    o = await client.create_order("ETH/BTC", "limit", "sell", 1, 0.5, {"clientOrderId": "tp-1"})
    await client.cancel_order(None, params={"clientOrderId": "tp-1"})
    assert await client.fetch_open_orders() == []
    (closed,) = await client.fetch_closed_orders()
    assert closed["id"] == o["id"] and closed["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(o["id"])


async def test_refusals_use_krakens_errors(client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("ETH/BTC", "market", "buy", 100)
    with pytest.raises(ccxt.InvalidOrder):
        await client.create_order("ETH/BTC", "market", "buy", 0.001)  # below ordermin 0.002
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("ETH/BTC", "limit", "sell", 11, 0.2)


async def _raw_private(
    sim: KrakenSimulator, key: str, secret: str, nonce: int, sign_secret: str | None = None
) -> Any:
    path = "/0/private/Balance"
    body = urlencode({"nonce": nonce})
    headers = {
        "API-Key": key,
        "API-Sign": kraken_signature(path, str(nonce), body, sign_secret or secret),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with aiohttp.ClientSession() as s, s.post(sim.base_url + path, data=body, headers=headers) as r:
        return await r.json()


async def test_signature_and_nonce_are_verified(sim: KrakenSimulator) -> None:
    acc = sim.add_account({"BTC": "1"})
    other = sim.add_account({})
    n = int(time.time() * 1000)
    assert (await _raw_private(sim, acc.api_key, acc.secret, n))["result"] == {"XXBT": "1.0000000000"}
    assert await _raw_private(sim, acc.api_key, acc.secret, n) == {"error": ["EAPI:Invalid nonce"]}
    assert await _raw_private(sim, acc.api_key, acc.secret, n - 5) == {"error": ["EAPI:Invalid nonce"]}
    assert await _raw_private(sim, acc.api_key, acc.secret, n + 1, other.secret) == {
        "error": ["EAPI:Invalid signature"]
    }
    assert await _raw_private(sim, "nobody", acc.secret, n + 2) == {"error": ["EAPI:Invalid key"]}
    # nonces are per key: the other key may use a lower one
    assert "result" in await _raw_private(sim, other.api_key, other.secret, n - 100)
    ex = make_exchange("kraken", sim.base_url, api_key=acc.api_key, secret=other.secret, pro=True)
    try:
        with pytest.raises(ccxt.ExchangeError, match="Invalid signature"):
            await ex.fetch_balance()
    finally:
        await ex.close()
