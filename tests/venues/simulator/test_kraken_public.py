"""Kraken public REST of the simulator, read by a real ccxt kraken client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aitrader.venues.simulator import KrakenSimulator, Series


async def test_markets_match_krakens_listing(client: Any, ccxt_fixture: Any) -> None:
    markets = await client.load_markets()
    recorded = ccxt_fixture("markets")["BTC/USDT"]
    ours = markets["BTC/USDT"]
    assert ours["id"] == recorded["id"] == "XBTUSDT"
    assert ours["baseId"] == "BTC" and ours["base"] == "BTC"  # ccxt mapped XXBT -> BTC via our Assets
    # every field Kraken sends for the pair is there, and the ones both listings share agree
    assert set(recorded["info"]) - {
        "leverage_buy",
        "leverage_sell",
        "margin_call",
        "margin_stop",
        "long_position_limit",
        "short_position_limit",
    } <= set(ours["info"])
    for key in (
        "altname",
        "wsname",
        "base",
        "quote",
        "lot_decimals",
        "pair_decimals",
        "ordermin",
        "tick_size",
    ):
        assert str(ours["info"][key]) == str(recorded["info"][key]), key
    assert ours["precision"] == recorded["precision"]
    assert ours["limits"]["amount"]["min"] == recorded["limits"]["amount"]["min"]
    assert ours["taker"] == recorded["taker"] and ours["maker"] == recorded["maker"]
    eth = markets["ETH/BTC"]
    assert (eth["id"], eth["info"]["wsname"]) == ("XETHXXBT", "ETH/XBT")
    assert eth["precision"]["price"] == 1e-8  # widened to the replayed data's 8 decimals


async def test_time_is_the_replay_clock(client: Any, sim: KrakenSimulator, eth_btc: Series) -> None:
    assert await client.fetch_time() == eth_btc.ts[12]
    sim.advance(3_600_000)
    assert await client.fetch_time() == eth_btc.ts[12] + 3_600_000


async def test_ohlcv_replays_source_rows_and_hides_the_future(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    rows = await client.fetch_ohlcv("ETH/BTC", "5m", since=eth_btc.ts[0])
    # 12 closed candles exactly as in the CSV, then the forming one, then nothing from the future
    assert len(rows) == 13
    for got, src in zip(rows[:12], eth_btc.rows[:12], strict=True):
        assert got == [
            src.ts,
            float(src.open),
            float(src.high),
            float(src.low),
            float(src.close),
            float(src.volume),
        ]
    forming = eth_btc.rows[12]
    assert rows[12][0] == forming.ts
    assert rows[12][1:5] == [float(forming.open)] * 4  # only its open is known yet
    sim.advance(5 * 60_000)
    rows = await client.fetch_ohlcv("ETH/BTC", "5m", since=eth_btc.ts[12])
    assert rows[0][1:5] == [
        float(forming.open),
        float(forming.high),
        float(forming.low),
        float(forming.close),
    ]


async def test_ohlc_pages_are_capped_at_720_like_kraken(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    sim.advance_to(eth_btc.ts[-1] + eth_btc.tf_ms)
    raw = await client.publicGetOHLC({"pair": "XETHXXBT", "interval": 5, "since": eth_btc.ts[99] // 1000})
    entries = raw["result"]["XETHXXBT"]
    assert len(entries) == 720
    assert entries[0][0] * 1000 == eth_btc.ts[100]  # strictly after `since`
    assert int(raw["result"]["last"]) * 1000 == eth_btc.ts[819]
    with pytest.raises(Exception, match="Invalid arguments"):
        await client.fetch_ohlcv("ETH/BTC", "1h")  # the replay only has 5m candles


async def test_ohlc_without_since_is_the_newest_720_up_to_the_clock(
    client: Any, sim: KrakenSimulator, eth_btc: Series
) -> None:
    # early in the replay: everything started so far (12 closed + the forming one), from the start
    rows = await client.fetch_ohlcv("ETH/BTC", "5m")
    assert [r[0] for r in rows] == list(eth_btc.ts[:13])
    sim.advance_to(eth_btc.ts[1000])  # candles 0..999 closed, 1000 forming, 1001.. in the future
    raw = await client.publicGetOHLC({"pair": "XETHXXBT", "interval": 5})
    entries = raw["result"]["XETHXXBT"]
    assert len(entries) == 720
    assert [e[0] * 1000 for e in entries] == list(eth_btc.ts[281:1001])  # the newest, not the oldest
    assert int(raw["result"]["last"]) * 1000 == eth_btc.ts[999]  # the newest closed one
    closed = eth_btc.rows[999]
    assert [float(x) for x in entries[-2][1:5]] == [
        float(closed.open),
        float(closed.high),
        float(closed.low),
        float(closed.close),
    ]
    rows = await client.fetch_ohlcv("ETH/BTC", "5m", limit=720)  # what the session's warm-up asks
    assert rows[-1][0] == eth_btc.ts[1000] and rows[0][0] == eth_btc.ts[281]
    # paging with `since` is unchanged: oldest first from it
    paged = await client.fetch_ohlcv("ETH/BTC", "5m", since=eth_btc.ts[0])
    assert paged[0][0] == eth_btc.ts[0] and len(paged) == 720  # (ccxt asks since - 1 s)


async def test_ticker_book_and_trades_follow_the_replayed_price(client: Any, eth_btc: Series) -> None:
    price = Decimal(eth_btc.rows[12].open)
    t = await client.fetch_ticker("ETH/BTC")
    assert t["last"] == float(price)
    assert t["bid"] < t["last"] < t["ask"]
    assert t["high"] == max(float(r.high) for r in eth_btc.rows[:12])
    book = await client.fetch_order_book("ETH/BTC", 10)
    assert len(book["asks"]) == 10 and len(book["bids"]) == 10
    assert book["bids"][0][0] == t["bid"] and book["asks"][0][0] == t["ask"]
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    trades = await client.fetch_trades("ETH/BTC", since=eth_btc.ts[11])
    assert [x["price"] for x in trades][-1] == float(eth_btc.rows[11].close)
    assert all(eth_btc.ts[11] <= x["timestamp"] < eth_btc.ts[12] for x in trades)


async def test_unknown_pair_is_krakens_error(client: Any) -> None:
    with pytest.raises(Exception, match="EQuery:Unknown asset pair"):
        await client.publicGetTicker({"pair": "FOOBAR"})
