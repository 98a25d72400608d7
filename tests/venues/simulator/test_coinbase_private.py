"""Coinbase private REST of the simulator: balances, orders, fills and idempotency, via real ccxt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from coinbase_sim_helpers import FIVE_MIN, coinbase_client, recorded, shape

from aitrader.venues.simulator import CoinbaseSimulator, Series

TAKER, MAKER = Decimal("0.006"), Decimal("0.004")


@pytest.fixture
async def sim(eth_btc: Series, btc_usdt: Series) -> AsyncIterator[CoinbaseSimulator]:
    """Clock stopped one hour into the ETH/BTC data (12 candles closed, the 13th just opened)."""
    s = CoinbaseSimulator([eth_btc, btc_usdt], start_ms=eth_btc.ts[12], hang_s=3.0)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def client(sim: CoinbaseSimulator) -> AsyncIterator[Any]:
    acc = sim.add_account({"BTC": "2", "ETH": "10", "USDT": "100000"})
    ex = coinbase_client(sim, acc.api_key, acc.secret, timeout=1500)
    yield ex
    await ex.close()


async def test_balances_v2_and_v3_with_holds(client: Any) -> None:
    assert (await client.fetch_balance())["total"] == {"BTC": 2.0, "ETH": 10.0, "USDT": 100000.0}  # v2
    await client.create_order("ETH/BTC", "limit", "buy", 1, 0.05)
    bal = await client.fetch_balance({"v3": True})
    assert bal["BTC"]["used"] == pytest.approx(float(Decimal("0.05") * (1 + TAKER)))  # reserved
    assert bal["BTC"]["free"] + bal["BTC"]["used"] == pytest.approx(2.0)
    accounts = bal["info"]["accounts"]
    assert {a["currency"] for a in accounts} == {"BTC", "ETH", "USDT"}
    assert {a["type"] for a in accounts} == {"ACCOUNT_TYPE_CRYPTO"}


async def test_market_order_fills_at_next_open_like_the_recording(
    client: Any, sim: CoinbaseSimulator, eth_btc: Series
) -> None:
    order = await client.create_order("ETH/BTC", "market", "sell", 1.5)
    assert (await client.fetch_order(order["id"]))["status"] == "open"  # next candle not open yet
    sim.advance(FIVE_MIN)
    px = Decimal(eth_btc.rows[13].open)
    (done,) = await client.fetch_closed_orders("ETH/BTC")
    want = recorded("response")["methods"]["fetchClosedOrders"][0]["parsedResponse"][0]
    assert set(want["info"]) - {"cursor"} <= set(done["info"])
    keys = ("id", "clientOrderId", "timestamp", "symbol", "type", "timeInForce", "side", "amount", "filled",
            "remaining", "cost", "average", "status", "fee")  # fmt: skip
    assert {k: shape(done[k]) for k in keys} == {k: shape(want[k]) for k in keys}
    assert done["id"] == order["id"] and done["status"] == "closed" and done["average"] == float(px)
    cost = (Decimal("1.5") * px).quantize(Decimal("1E-8"))  # quote amounts are booked to 8 decimals
    fee = (cost * TAKER).quantize(Decimal("1E-8"))
    bal = await client.fetch_balance({"v3": True})
    assert Decimal(str(bal["ETH"]["total"])) == Decimal("8.5")
    assert Decimal(str(bal["BTC"]["total"])) == Decimal(2) + cost - fee
    (trade,) = await client.fetch_my_trades("ETH/BTC")
    want_fill = recorded("response")["methods"]["fetchMyTrades"][0]["parsedResponse"][0]
    assert set(want_fill["info"]) - {"cursor"} <= set(trade["info"])
    fill_keys = ("id", "order", "timestamp", "symbol", "side", "takerOrMaker", "price", "amount", "cost")
    assert {k: shape(trade[k]) for k in fill_keys} == {k: shape(want_fill[k]) for k in fill_keys}
    assert (trade["order"], trade["takerOrMaker"], trade["timestamp"]) == (
        order["id"],
        "taker",
        eth_btc.ts[13],
    )
    assert trade["fee"] == {"cost": float(fee), "currency": "BTC"}


async def test_limit_fills_only_when_traded_through(
    client: Any, sim: CoinbaseSimulator, eth_btc: Series
) -> None:
    k = 13
    later = eth_btc.rows[k:]
    price = min(Decimal(r.low) for r in later[:10]) + Decimal("0.00000001")
    hit = next(i for i, r in enumerate(later) if Decimal(r.low) < price) + k
    assert Decimal(eth_btc.rows[hit].open) > price  # not marketable at that open
    order = await client.create_order("ETH/BTC", "limit", "buy", 1, float(price))
    sim.advance_to(eth_btc.ts[hit] + FIVE_MIN - 1)
    assert (await client.fetch_order(order["id"]))["status"] == "open"  # candle still forming
    sim.advance(1)
    done = await client.fetch_order(order["id"])
    assert done["status"] == "closed" and done["average"] == float(price) and done["price"] == float(price)
    (trade,) = await client.fetch_my_trades("ETH/BTC")
    assert trade["takerOrMaker"] == "maker" and trade["timestamp"] == eth_btc.ts[hit] + FIVE_MIN
    assert trade["fee"]["cost"] == float((price * MAKER).quantize(Decimal("1E-8")))


async def test_quote_sized_market_buy(client: Any, sim: CoinbaseSimulator, btc_usdt: Series) -> None:
    sim.advance_to(btc_usdt.ts[5])
    ref = Decimal(btc_usdt.rows[5].open)
    order = await client.create_order("BTC/USDT", "market", "buy", 0.01, float(ref))  # spend 0.01 * ref
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(order["id"])
    assert done["info"]["size_in_quote"] is True
    (config,) = done["info"]["order_configuration"].values()  # what ccxt sent: amount * price
    assert Decimal(config["quote_size"]) == Decimal("0.01") * ref and "base_size" not in config
    want = (Decimal("0.01") * ref / (ref * (1 + TAKER))).quantize(Decimal("1E-8"), rounding="ROUND_DOWN")
    assert Decimal(str(done["filled"])) == want and done["average"] == float(btc_usdt.rows[6].open)


async def test_cancel_and_orders_by_status(client: Any) -> None:
    a = await client.create_order("ETH/BTC", "limit", "sell", 1, 0.5)
    b = await client.create_order("ETH/BTC", "limit", "buy", 1, 0.01)
    assert {o["id"] for o in await client.fetch_open_orders()} == {a["id"], b["id"]}
    canceled = await client.cancel_order(a["id"])
    assert canceled["id"] == a["id"]
    assert [o["id"] for o in await client.fetch_open_orders()] == [b["id"]]
    (gone,) = await client.fetch_canceled_orders()
    assert gone["id"] == a["id"] and gone["status"] == "canceled"
    with pytest.raises(ccxt.BadRequest):
        await client.cancel_order(a["id"])  # already cancelled: success false
    with pytest.raises(ccxt.ExchangeError, match="NOT_FOUND"):
        await client.fetch_order("00000000-0000-0000-0000-000000000000")


async def test_refusals_use_coinbases_errors(client: Any) -> None:
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("ETH/BTC", "limit", "buy", 100, 0.09)
    with pytest.raises(ccxt.InsufficientFunds):
        await client.create_order("ETH/BTC", "limit", "sell", 11, 0.2)
    with pytest.raises(ccxt.BadRequest, match="UNSUPPORTED_ORDER_CONFIGURATION"):
        await client.create_order("ETH/BTC", "limit", "buy", 1, 0.05, {"timeInForce": "FOK"})
    with pytest.raises(ccxt.ExchangeError, match="POST_ONLY"):
        await client.create_order("ETH/BTC", "limit", "buy", 1, 0.2, {"postOnly": True})  # would cross
    assert await client.fetch_orders() == []


async def test_client_order_id_survives_a_timeout_after_accept(client: Any, sim: CoinbaseSimulator) -> None:
    params = {"client_order_id": "entry-1"}
    sim.faults.burst("timeout_after_accept")
    with pytest.raises(ccxt.RequestTimeout):
        await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, params)
    assert sim.faults.counts["timeout_after_accept"] == 1
    retry = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, params)  # same id: same order
    again = await client.create_order("ETH/BTC", "limit", "buy", 0.7, 0.04, params)
    assert retry["id"] == again["id"] and retry["clientOrderId"] == "entry-1"
    (only,) = await client.fetch_open_orders()
    assert only["id"] == retry["id"] and only["amount"] == 0.5 and only["clientOrderId"] == "entry-1"
    other = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"client_order_id": "entry-2"})
    assert other["id"] != retry["id"] and len(await client.fetch_open_orders()) == 2


async def test_rate_limit_fault_is_coinbases_429(client: Any, sim: CoinbaseSimulator) -> None:
    await client.load_markets()
    sim.faults.burst("http_429")
    with pytest.raises(ccxt.RateLimitExceeded):
        await client.fetch_balance({"v3": True})
    assert (await client.fetch_balance({"v3": True}))["BTC"]["total"] == 2.0
