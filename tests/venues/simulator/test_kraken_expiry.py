"""Orders with an expiry (Kraken's `expiretm` / `timeinforce=GTD`): accepted, echoed, expired by the
simulator clock, and reported as `expired` by REST and the WebSocket executions channel, via real ccxt."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import ccxt
import pytest

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import KrakenSimulator, Series
from aitrader.venues.simulator.kraken_format import iso

FIVE_MIN = 300_000


async def test_expiretm_relative_expires_a_resting_order_when_the_clock_passes_it(
    client: Any, sim: KrakenSimulator
) -> None:
    now = sim.now()
    placed = await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"expiretm": "+600"})
    (opened,) = await client.fetch_open_orders()
    assert opened["id"] == placed["id"] and opened["status"] == "open"
    assert float(opened["info"]["expiretm"]) == (now + 600_000) / 1000  # echoed as Kraken's seconds
    hold = (await client.private_post_balanceex())["result"]["XXBT"]["hold_trade"]
    assert float(hold) > 0
    sim.advance(FIVE_MIN)
    assert (await client.fetch_order(placed["id"]))["status"] == "open"  # 300 s of 600
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(placed["id"])
    assert done["status"] == "expired" and done["filled"] == 0
    assert done["info"]["reason"] == "Order expired"
    assert float(done["info"]["closetm"]) == (now + 600_000) / 1000  # at its expiry, not at the query
    assert await client.fetch_open_orders() == []
    assert [o["id"] for o in await client.fetch_closed_orders()] == [placed["id"]]
    hold = (await client.private_post_balanceex())["result"]["XXBT"]["hold_trade"]
    assert float(hold) == 0  # the reservation is released
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(placed["id"])  # nothing left to cancel


async def test_expiretm_unix_time_and_gtd(client: Any, sim: KrakenSimulator) -> None:
    at_s = sim.now() // 1000 + 450
    placed = await client.create_order(
        "ETH/BTC", "limit", "buy", 0.5, 0.05, {"timeInForce": "GTD", "expiretm": str(at_s)}
    )
    sim.advance(FIVE_MIN)
    assert (await client.fetch_order(placed["id"]))["status"] == "open"
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(placed["id"])
    assert done["status"] == "expired" and float(done["info"]["closetm"]) == at_s


async def test_an_order_expiring_before_the_next_open_never_fills(client: Any, sim: KrakenSimulator) -> None:
    # a market order fills at the next candle's open (300 s away); it expires at 200 s
    placed = await client.create_order("ETH/BTC", "market", "buy", 0.5, None, {"expiretm": "+200"})
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(placed["id"])
    assert done["status"] == "expired" and done["filled"] == 0
    assert await client.fetch_my_trades("ETH/BTC") == []


async def test_a_partly_filled_order_expires_keeping_its_fill(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    placed = await client.create_order("ETH/BTC", "market", "buy", 1, None, {"expiretm": "+400"})
    sim.faults.burst("partial")
    sim.advance(FIVE_MIN)  # the next open fills part of it
    first = await client.fetch_order(placed["id"])
    assert first["status"] == "open" and 0.2 <= first["filled"] <= 0.8
    sim.advance(FIVE_MIN)  # expires at 400 s, before the open at 600 s that would fill the rest
    done = await client.fetch_order(placed["id"])
    assert done["status"] == "expired" and done["filled"] == first["filled"]
    (trade,) = await client.fetch_my_trades("ETH/BTC")
    assert trade["order"] == placed["id"] and trade["price"] == float(eth_btc.rows[13].open)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"expiretm": "soon"}, "expiretm"),
        ({"expiretm": "+0"}, "expiretm"),  # not in the future
        ({"expiretm": "1"}, "expiretm"),  # 1970
        ({"timeInForce": "GTD"}, "expiretm"),  # GTD needs an expiry
        ({"timeInForce": "IOC", "expiretm": "+60"}, "expiretm"),  # IOC never rests
        ({"timeInForce": "FOK"}, "timeinforce"),
    ],
)
async def test_bad_expiry_is_refused_and_creates_nothing(
    client: Any, params: dict[str, str], field: str
) -> None:
    with pytest.raises(ccxt.ExchangeError, match=f"EGeneral:Invalid arguments:{field}"):
        await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, params)
    assert await client.fetch_open_orders() == []


async def test_watch_orders_reports_the_expiry(client: Any, sim: KrakenSimulator) -> None:
    first = asyncio.create_task(client.watch_orders())
    await asyncio.sleep(0.3)  # subscribed (empty snapshot)
    placed = await client.create_order(
        "ETH/BTC", "limit", "buy", 0.5, 0.05, {"clientOrderId": "gtd-1", "expiretm": "+120"}
    )
    opened = await asyncio.wait_for(first, 5)
    assert opened[-1]["id"] == placed["id"] and opened[-1]["status"] == "open"
    assert opened[-1]["timeInForce"] == "GTD"
    expired = asyncio.create_task(client.watch_orders())
    await asyncio.sleep(0.1)
    sim.advance(FIVE_MIN)
    got = await asyncio.wait_for(expired, 5)
    assert got[-1]["id"] == placed["id"] and got[-1]["status"] == "expired"
    assert got[-1]["info"]["cl_ord_id"] == "gtd-1" and got[-1]["info"]["reason"] == "Order expired"


@contextlib.asynccontextmanager
async def _executions(sim: KrakenSimulator, client: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw private socket subscribed to `executions` (the snapshot already read)."""
    token = (await client.private_post_getwebsocketstoken())["result"]["token"]
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_url + "/ws-auth/v2") as ws:
        sub = {"method": "subscribe", "params": {"channel": "executions", "token": token}}
        await ws.send_str(json.dumps(sub))
        while json.loads((await asyncio.wait_for(ws.receive(), 5)).data).get("type") != "snapshot":
            pass
        yield ws


async def _next_update(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    """The next executions update within `timeout` s overall (heartbeats skipped)."""

    async def read() -> dict[str, Any]:
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg.get("channel") == "executions" and msg.get("type") == "update":
                data: dict[str, Any] = msg["data"][0]
                return data

    return await asyncio.wait_for(read(), timeout)


async def test_executions_channel_sends_krakens_expired_message(client: Any, sim: KrakenSimulator) -> None:
    async with _executions(sim, client) as ws:
        now = sim.now()
        await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"expiretm": "+120"})
        new = await _next_update(ws)
        assert (new["exec_type"], new["order_status"], new["time_in_force"]) == ("new", "new", "GTD")
        assert new["expire_time"] == iso(now + 120_000)
        sim.advance(FIVE_MIN)
        gone = await _next_update(ws)
        assert (gone["exec_type"], gone["order_status"]) == ("expired", "expired")
        assert gone["order_id"] == new["order_id"] and gone["reason"] == "Order expired"
        assert gone["cum_qty"] == 0.0


async def test_a_running_clock_expires_orders_without_any_request(
    eth_btc: Series,
) -> None:
    """No REST call and no candle boundary between placing and expiring: the replay's own tick must
    notice the expiry and push it on the stream."""
    sim = KrakenSimulator([eth_btc], start_ms=eth_btc.ts[12] + 1_000, speed=20.0)  # next candle in ~15 s
    await sim.start()
    acc = sim.add_account({"BTC": "2"})
    ex = make_exchange("kraken", sim.base_url, sim.ws_url, acc.api_key, acc.secret, pro=True,
                       options={"rateLimit": 5})  # fmt: skip
    try:
        async with _executions(sim, ex) as ws:
            # expires 10 sim s (0.5 s real) from now, long before the next candle boundary
            await ex.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"expiretm": "+10"})
            assert (await _next_update(ws))["exec_type"] == "new"
            gone = await _next_update(ws, timeout=2.0)
            assert sim.clock.now() < eth_btc.ts[13]  # no candle event woke the engine
            assert gone["exec_type"] == "expired"
    finally:
        await ex.close()
        await sim.stop()
