"""MarketDataClient against the Kraken simulator with a real ccxt.pro client, the socket killed repeatedly.

What must hold after every server-side close: exactly one live subscription per channel on the
server (one socket, one subscribe request per channel on it), the state machine went
backoff -> resubscribe -> subscribed, no message was processed twice (the exchange resends its
snapshots), and the closed candles continue without a gap over what the server sent.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from live_helpers import START, SimClock, eventually

from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.client import MarketDataClient
from aitrader.data.live.state import ConnectionState as S
from aitrader.data.resample import resample
from aitrader.metrics import WS_RECONNECTS, WS_SUBSCRIPTIONS
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import KrakenSimulator, Series

SYM = "ETH/BTC"
FIVE_MIN = 300_000
KILLS = 4


def _spy_sent_candles(sim: KrakenSimulator) -> list[dict[str, Any]]:
    """Every ohlc row the server actually wrote to a socket."""
    sent: list[dict[str, Any]] = []
    real = sim.ws._raw

    async def spy(conn: Any, msg: dict[str, Any]) -> None:
        if msg.get("channel") == "ohlc" and not conn.ws.closed:
            sent.extend(msg["data"])
        await real(conn, msg)

    sim.ws._raw = spy  # type: ignore[method-assign]
    return sent


def _gauge(channel: str) -> float:
    return float(WS_SUBSCRIPTIONS.labels(channel)._value.get())


def _live_subscriptions(
    sim: KrakenSimulator, requests: Iterable[tuple[Any, dict[str, Any]]]
) -> tuple[int, Any, Any]:
    live = [c for c in sim.ws.conns if not c.ws.closed]
    if len(live) != 1:
        return len(live), None, None
    conn = live[0]
    subs = {ch: sorted(by_sym) for ch, by_sym in conn.subs.items()}
    sent = Counter(
        (r["params"]["channel"], tuple(r["params"]["symbol"]))
        for c, r in requests
        if c is conn and r["method"] == "subscribe"
    )
    return 1, subs, sent


async def test_repeated_server_kills_resubscribe_once_and_lose_or_repeat_nothing(
    sim: KrakenSimulator, eth_btc: Series
) -> None:
    requests = sim.ws.subscriptions_log
    sent_rows = _spy_sent_candles(sim)
    ex = make_exchange("kraken", sim.base_url, sim.ws_url, pro=True, options={"rateLimit": 5})
    client = MarketDataClient(
        ex,
        [SYM],
        "5m",
        higher=("15m", "1h"),
        clock=SimClock(sim),
        backoff=lambda: Backoff(0.01, 0.05, rng=random.Random(7)),
        close_grace_ms=10_000,
        tick_s=0.02,
    )
    closed: list[CandleClosed] = []
    books: list[dict[str, Any]] = []
    tickers: list[dict[str, Any]] = []
    assert client.on_candle_closed(closed.append) and not client.on_candle_closed(closed.append)
    assert client.on_book(books.append) and not client.on_book(books.append)
    client.on_ticker(tickers.append)
    reconnects_before = WS_RECONNECTS.labels("ohlcv")._value.get()
    gauges_before = {ch: _gauge(ch) for ch in ("ohlcv", "ticker", "orderbook")}
    try:
        await client.start()
        await eventually(lambda: client.public.state is S.SUBSCRIBED, what="first subscription")
        # REST warm-up filled the cache with history; history is not replayed to the engine
        assert list(client.window(SYM).ts) == eth_btc.ts[:START] and closed == []
        assert client.order_book(SYM) is not None and client.ticker(SYM) is not None
        assert {ch: _gauge(ch) - gauges_before[ch] for ch in gauges_before} == {
            "ohlcv": 1,
            "ticker": 1,
            "orderbook": 1,
        }

        def arrived(ts: int) -> Callable[[], bool]:
            return lambda: any(e.candle.ts == ts for e in closed)

        def resubscribed(n: int) -> Callable[[], bool]:
            return lambda: client.public.reconnects == n and client.public.state is S.SUBSCRIBED

        for kill in range(KILLS):
            sim.advance(FIVE_MIN)  # a candle closes while streaming
            want = eth_btc.ts[START + 2 * kill]
            await eventually(arrived(want), what=f"candle {want}")
            assert client.public.state.value == "streaming"
            sim.faults.burst("drop_ws")
            sim.advance(FIVE_MIN)  # the next one closes as the server kills the socket
            await eventually(resubscribed(kill + 1), what=f"resubscribed after kill {kill + 1}")
            await eventually(
                lambda: _live_subscriptions(sim, requests)[0] == 1, what="one server-side socket"
            )
            _, subs, sent = _live_subscriptions(sim, requests)
            assert subs == {"book": [SYM], "ohlc": [SYM], "ticker": [SYM]}
            assert sent == {("ohlc", (SYM,)): 1, ("ticker", (SYM,)): 1, ("book", (SYM,)): 1}
            assert {ch: _gauge(ch) - gauges_before[ch] for ch in gauges_before} == {
                "ohlcv": 1,
                "ticker": 1,
                "orderbook": 1,
            }
        sim.advance(FIVE_MIN)
        last = eth_btc.ts[START + 2 * KILLS]
        await eventually(lambda: any(e.candle.ts == last for e in closed), what="the last candle")
        await eventually(lambda: client.public.state is S.STREAMING, what="streaming again")
    finally:
        await client.stop()
        await ex.close()

    assert sim.faults.counts["drop_ws"] == KILLS
    assert WS_RECONNECTS.labels("ohlcv")._value.get() - reconnects_before == KILLS
    assert {ch: _gauge(ch) for ch in gauges_before} == gauges_before  # all counted down on stop
    # the lifecycle, kill by kill
    path = client.public.sm.path()
    assert path == [S.IDLE, S.CONNECTING, S.SUBSCRIBED, S.STREAMING] + [
        S.BACKOFF,
        S.RESUBSCRIBE,
        S.SUBSCRIBED,
        S.STREAMING,
    ] * KILLS + [S.CLOSED]
    # closed candles: every one after the warm-up, once, in order, with the real values
    base = [e.candle for e in closed if e.timeframe == "5m"]
    assert [c.ts for c in base] == eth_btc.ts[START : START + 2 * KILLS + 1]
    for c, row in zip(base, eth_btc.rows[START:], strict=False):
        assert (c.open, c.high, c.low, c.close) == tuple(
            float(x) for x in (row.open, row.high, row.low, row.close)
        )
    # ... covering every candle the server sent that has closed (no gap over what was on the wire)
    closed_on_wire = {
        int(np.datetime64(r["interval_begin"].rstrip("Z"), "ms").astype(np.int64))
        for r in sent_rows
        if int(np.datetime64(r["timestamp"].rstrip("Z"), "ms").astype(np.int64)) <= sim.clock.now()
    }
    assert closed_on_wire - set(eth_btc.ts[:START]) <= {c.ts for c in base}
    # higher timeframes rolled up from them equal the batch resample of the same candles
    for tf in ("15m", "1h"):
        got = [e.candle.ts for e in closed if e.timeframe == tf]
        want_tf = resample(client.window(SYM), "5m", tf, now_ms=sim.clock.now())
        tf_ms = timeframe_to_ms(tf)  # the buckets that closed after the warm-up were emitted
        assert got == [int(t) for t in want_tf.ts if t + tf_ms > eth_btc.ts[START]] and got
    # nothing processed twice although the server resent its snapshots after every reconnect
    assert len({(e.timeframe, e.candle.ts) for e in closed}) == len(closed)
    assert client.duplicates["ohlcv"] >= KILLS * 100  # the 100-candle snapshot, each time
    book_states = [(tuple(map(tuple, b["bids"])), tuple(map(tuple, b["asks"]))) for b in books]
    assert all(a != b for a, b in itertools.pairwise(book_states))
    ticker_states = [(t["timestamp"], t["bid"], t["ask"], t["last"]) for t in tickers]
    assert len(set(ticker_states)) == len(ticker_states)
