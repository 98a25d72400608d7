"""Every fault of the simulator, observed by a real ccxt client or a raw WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import ccxt
import pytest

from aitrader.core.errors import ConfigError
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import FaultSpec, KrakenSimulator, Series

FIVE_MIN = 300_000


def test_spec_parsing() -> None:
    spec = FaultSpec.parse("drop_ws=0.01,http_429=0.05,delay_ms=50,partial=0.2,seed=7")
    assert (spec.drop_ws, spec.http_429, spec.delay_ms, spec.partial, spec.seed) == (0.01, 0.05, 50, 0.2, 7)
    for bad in ("nope=1", "http_429=2", "delay_ms=-1", "partial", "reject=x"):
        with pytest.raises(ConfigError):
            FaultSpec.parse(bad)


async def test_http_429_is_krakens_rate_limit(client: Any, sim: KrakenSimulator) -> None:
    sim.faults.burst("http_429")
    with pytest.raises(ccxt.DDoSProtection, match="EAPI:Rate limit exceeded"):
        await client.fetch_time()
    assert await client.fetch_time() > 0  # only the burst


async def test_http_5xx_is_exchange_not_available(client: Any, sim: KrakenSimulator) -> None:
    sim.faults.burst("http_5xx")
    with pytest.raises(ccxt.NetworkError, match=r"50[0-9]|520"):  # NotAvailable, or RequestTimeout on 504
        await client.fetch_time()


async def test_delay(client: Any, sim: KrakenSimulator) -> None:
    await client.fetch_time()
    sim.faults.spec.delay_ms = 300
    t0 = time.monotonic()
    await client.fetch_time()
    assert time.monotonic() - t0 >= 0.3


async def test_reject_creates_no_order(client: Any, sim: KrakenSimulator) -> None:
    sim.faults.burst("reject")
    with pytest.raises(ccxt.ExchangeError, match="EOrder:Orders limit exceeded"):
        await client.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05)
    assert await client.fetch_open_orders() == []


async def test_partial_fills_leave_the_rest_for_later(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    order = await client.create_order("ETH/BTC", "market", "buy", 1)
    sim.faults.burst("partial")
    sim.advance(FIVE_MIN)
    first = await client.fetch_order(order["id"])
    assert first["status"] == "open" and 0.2 <= first["filled"] <= 0.8
    sim.advance(FIVE_MIN)
    done = await client.fetch_order(order["id"])
    assert done["status"] == "closed" and done["filled"] == 1
    trades = await client.fetch_my_trades("ETH/BTC")
    assert sorted(t["price"] for t in trades) == sorted(float(eth_btc.rows[i].open) for i in (13, 14))


async def test_timeout_after_accept_then_idempotent_retry(sim: KrakenSimulator) -> None:
    sim.hang_s = 5.0
    acc = sim.add_account({"BTC": "1"})
    ex = make_exchange("kraken", sim.base_url, api_key=acc.api_key, secret=acc.secret, pro=True,
                       options={"timeout": 400, "rateLimit": 5})  # fmt: skip
    try:
        sim.faults.burst("timeout_after_accept")
        with pytest.raises(ccxt.RequestTimeout):
            await ex.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"clientOrderId": "c-1"})
        (exists,) = await ex.fetch_open_orders()  # the order was accepted though
        retried = await ex.create_order("ETH/BTC", "limit", "buy", 0.5, 0.05, {"clientOrderId": "c-1"})
        assert retried["id"] == exists["id"]
        assert len(await ex.fetch_open_orders()) == 1
    finally:
        await ex.close()


async def _ohlc_messages(sim: KrakenSimulator, advances: int) -> tuple[list[dict[str, Any]], bool]:
    """Subscribe to ohlc, advance the clock `advances` times; returns (data messages, socket closed)."""
    got: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws/v2") as ws:
        sub = {"method": "subscribe", "params": {"channel": "ohlc", "symbol": ["ETH/BTC"], "interval": 5}}
        await ws.send_str(json.dumps(sub))
        while json.loads((await asyncio.wait_for(ws.receive(), 5)).data).get("type") != "snapshot":
            pass
        for _ in range(advances):
            sim.advance(FIVE_MIN)
            await asyncio.sleep(0.05)
        end = asyncio.get_running_loop().time() + 1.5
        while asyncio.get_running_loop().time() < end:
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.3)
            except TimeoutError:
                break
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return got, True
            data = json.loads(msg.data)
            if data.get("channel") == "ohlc" and data["type"] == "update":
                got.append(data)
        return got, ws.closed


async def test_drop_ws_closes_the_socket(sim: KrakenSimulator) -> None:
    sim.faults.burst("drop_ws")
    got, closed = await _ohlc_messages(sim, 1)
    assert closed and got == []


async def test_duplicate_ws_sends_a_message_twice(sim: KrakenSimulator) -> None:
    got, _ = await _ohlc_messages(sim, 1)
    assert len(got) == 2  # candle 12 closed, candle 13 opened
    sim.faults.burst("duplicate_ws")
    dup, _ = await _ohlc_messages(sim, 1)
    assert len(dup) == 3 and dup[0] == dup[1]


async def test_reorder_ws_swaps_messages(sim: KrakenSimulator) -> None:
    sim.faults.burst("reorder_ws")
    got, _ = await _ohlc_messages(sim, 1)
    begins = [m["data"][0]["interval_begin"] for m in got]
    assert len(begins) == 2 and begins == sorted(begins, reverse=True)  # newer candle first


async def test_faults_are_reproducible_from_the_seed(eth_btc: Series) -> None:
    def draws() -> list[bool]:
        sim = KrakenSimulator([eth_btc], faults=FaultSpec.parse("http_429=0.3,seed=11"))
        return [sim.faults.strike("http_429") for _ in range(50)]

    a, b = draws(), draws()
    assert a == b and 5 < sum(a) < 30
