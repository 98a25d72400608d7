"""Kraken WebSocket v2 of the simulator, consumed by a real ccxt.pro kraken client (and a raw socket)."""

from __future__ import annotations

import asyncio
import json
import zlib
from decimal import Decimal
from typing import Any

import aiohttp
from sim_wait import eventually

from aitrader.venues.simulator import KrakenSimulator, Series

FIVE_MIN = 300_000


async def test_watch_ticker_follows_the_replay(client: Any, sim: KrakenSimulator, eth_btc: Series) -> None:
    t = await asyncio.wait_for(client.watch_ticker("ETH/BTC"), 5)
    assert t["symbol"] == "ETH/BTC" and t["last"] == float(eth_btc.rows[12].open)
    assert t["bid"] < t["last"] < t["ask"]
    sim.advance(FIVE_MIN)
    t = await asyncio.wait_for(client.watch_ticker("ETH/BTC"), 5)
    assert t["last"] == float(eth_btc.rows[13].open)


async def test_watch_ohlcv_snapshot_and_updates(client: Any, sim: KrakenSimulator, eth_btc: Series) -> None:
    candles = await asyncio.wait_for(client.watch_ohlcv("ETH/BTC", "5m"), 5)
    assert [c[0] for c in candles] == eth_btc.ts[:13]
    for got, src in zip(candles[:12], eth_btc.rows[:12], strict=True):
        assert got[1:] == [
            float(src.open),
            float(src.high),
            float(src.low),
            float(src.close),
            float(src.volume),
        ]
    sim.advance(FIVE_MIN)
    await asyncio.wait_for(client.watch_ohlcv("ETH/BTC", "5m"), 5)
    done = client.ohlcvs["ETH/BTC"]["5m"]
    await eventually(lambda: done[-1][0] == eth_btc.ts[13])
    closed = next(c for c in done if c[0] == eth_btc.ts[12])
    src = eth_btc.rows[12]
    assert closed[1:5] == [float(src.open), float(src.high), float(src.low), float(src.close)]


def _checksum(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    """Kraken's documented v2 book checksum, written independently of the simulator's."""
    text = "".join(
        p.replace(".", "").lstrip("0") + q.replace(".", "").lstrip("0") for p, q in asks[:10] + bids[:10]
    )
    return zlib.crc32(text.encode())


async def test_book_snapshot_updates_and_checksums(sim: KrakenSimulator, client: Any) -> None:
    await client.load_markets()
    market = client.market("ETH/BTC")
    pdec, ldec = market["info"]["pair_decimals"], market["info"]["lot_decimals"]
    book: dict[str, dict[Decimal, Decimal]] = {"asks": {}, "bids": {}}
    checked = 0
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws/v2") as ws:
        sub = {
            "method": "subscribe",
            "params": {"channel": "book", "symbol": ["ETH/BTC"], "depth": 10},
            "req_id": 1,
        }
        await ws.send_str(json.dumps(sub))
        while checked < 4:
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            if msg.get("channel") != "book":
                continue
            (data,) = msg["data"]
            if msg["type"] == "snapshot":
                book = {"asks": {}, "bids": {}}
            for side in ("asks", "bids"):
                for lvl in data[side]:
                    px, qty = Decimal(str(lvl["price"])), Decimal(str(lvl["qty"]))
                    if qty == 0:
                        book[side].pop(px, None)
                    else:
                        book[side][px] = qty
            asks = sorted(book["asks"].items())[:10]
            bids = sorted(book["bids"].items(), reverse=True)[:10]
            fmt = (
                [(f"{p:.{pdec}f}", f"{q:.{ldec}f}") for p, q in asks],
                [(f"{p:.{pdec}f}", f"{q:.{ldec}f}") for p, q in bids],
            )
            assert _checksum(*fmt) == data["checksum"]
            assert len(asks) == 10 and len(bids) == 10 and bids[0][0] < asks[0][0]
            checked += 1
            sim.advance(FIVE_MIN)  # a new candle: a new book, sent as a diff
    # and ccxt.pro ends up with the very same book
    ob = await asyncio.wait_for(client.watch_order_book("ETH/BTC", 10), 5)
    rest = await client.fetch_order_book("ETH/BTC", 10)
    assert ob["asks"][:10] == [[a[0], a[1]] for a in rest["asks"]]
    assert ob["bids"][:10] == [[b[0], b[1]] for b in rest["bids"]]
    sim.advance(FIVE_MIN)
    ob = await asyncio.wait_for(client.watch_order_book("ETH/BTC", 10), 5)
    rest = await client.fetch_order_book("ETH/BTC", 10)
    assert ob["asks"][:10] == [[a[0], a[1]] for a in rest["asks"]]


async def test_watch_orders_and_my_trades(client: Any, sim: KrakenSimulator, eth_btc: Series) -> None:
    orders_task = asyncio.create_task(client.watch_orders())
    await asyncio.sleep(0.3)  # subscribed (empty snapshot)
    placed = await client.create_order("ETH/BTC", "market", "buy", 0.5, params={"userref": 7})
    orders = await asyncio.wait_for(orders_task, 5)
    assert orders[-1]["id"] == placed["id"] and orders[-1]["status"] == "open"
    assert orders[-1]["clientOrderId"] == "7" and orders[-1]["amount"] == 0.5
    trades_task = asyncio.create_task(client.watch_my_trades())
    await asyncio.sleep(0.1)
    sim.advance(FIVE_MIN)
    trades = await asyncio.wait_for(trades_task, 5)
    assert trades[-1]["order"] == placed["id"]
    assert trades[-1]["price"] == float(eth_btc.rows[13].open) and trades[-1]["amount"] == 0.5
    rest_trade = (await client.fetch_my_trades("ETH/BTC"))[-1]
    assert rest_trade["id"] == trades[-1]["id"]  # same fill id on both APIs
    await eventually(lambda: client.orders[-1]["status"] == "closed")
    assert client.orders[-1]["id"] == placed["id"] and client.orders[-1]["filled"] in (None, 0.5)


async def test_private_channel_needs_a_valid_token(sim: KrakenSimulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(sim.ws_url + "/ws-auth/v2") as ws:
        await ws.send_str(
            json.dumps(
                {"method": "subscribe", "params": {"channel": "executions", "token": "x"}, "req_id": 5}
            )
        )
        while True:
            msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            if msg.get("method") == "subscribe":
                break
    assert msg["success"] is False and msg["req_id"] == 5 and "Invalid session" in msg["error"]
