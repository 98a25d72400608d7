"""A paper session's market data connection, its socket killed by the server again and again.

The session streams candles, tickers and top-10 books of two pairs on one supervised connection
(`LiveFeed.subscribe` -> `data.live.supervisor.StreamSupervisor`). After every kill: one live socket
on the server with exactly one subscription per channel and pair, the subscription gauge back at one
per channel and pair, the lifecycle went backoff -> resubscribe -> subscribed -> streaming, and the
engine was handed every closed candle exactly once although the server resent its snapshots.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.core.ports import CandleClosed
from aitrader.data.cache import Outcome
from aitrader.data.live.state import ConnectionState as S
from aitrader.metrics import WS_SUBSCRIPTIONS
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator

KILLS = 3
CHANNELS = ("ohlcv", "ticker", "orderbook")


def _gauges() -> dict[str, float]:
    return {ch: float(WS_SUBSCRIPTIONS.labels(ch)._value.get()) for ch in CHANNELS}


def _server_side(
    sim: KrakenSimulator, requests: Iterable[tuple[Any, dict[str, Any]]]
) -> tuple[Any, Counter[Any]]:
    """(subscriptions of the one live socket by channel, subscribe requests per channel and pair on it)."""
    live = [c for c in sim.ws.conns if not c.ws.closed]
    assert len(live) == 1, f"{len(live)} live sockets"
    conn = live[0]
    sent: Counter[tuple[str, str]] = Counter()
    for c, r in requests:
        if c is conn and r["method"] == "subscribe":
            for sym in r["params"]["symbol"]:
                sent[(r["params"]["channel"], sym)] += 1
    return {ch: sorted(by_sym) for ch, by_sym in conn.subs.items()}, sent


@pytest.mark.interpreted
async def test_session_resubscribes_once_per_channel_and_hands_each_candle_once(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 400), series("XLM_BTC", 400)]
    pairs = [s.symbol for s in feeds]
    start = 300
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[start])
    await sim.start()
    requests = sim.ws.subscriptions_log
    url = f"sqlite:///{tmp_path / 's.db'}"
    settings = settings_for(sim, pairs, url)
    session = Session(
        settings,
        make_engine(url),
        SessionOptions(mode="paper", markets=MarketRegistry.load("bittrex"), max_lag_s=5.0, warmup=200),
    )
    before = _gauges()
    handed: list[tuple[str, int]] = []
    async with running(session, sim):
        await eventually(lambda: "engine" in session.supervisor.names(), timeout=60, what="start")
        streams = session.feed.streams
        assert streams is not None
        await eventually(
            lambda: streams.state is S.STREAMING or streams.state is S.SUBSCRIBED, what="subscribed"
        )
        real = session.engine.on_candle

        def spy(ev: CandleClosed) -> None:
            handed.append((ev.symbol, ev.candle.ts))
            real(ev)

        session.engine.on_candle = spy  # type: ignore[method-assign]
        want = {ch: 2.0 for ch in CHANNELS}
        assert {ch: v - before[ch] for ch, v in _gauges().items()} == want
        assert set(session.feed.tickers) == set(pairs) and set(session.feed.books) == set(pairs)

        closed = 0
        for kill in range(KILLS):
            sim.advance(FIVE_MIN)  # a candle closes while streaming
            closed += 1
            await eventually(lambda n=closed: session.candles >= 2 * n, what=f"candle {closed}")  # type: ignore[misc]
            assert streams.state is S.STREAMING
            sim.faults.burst("drop_ws")
            sim.advance(FIVE_MIN)  # the next one closes as the server kills the socket
            closed += 1
            await eventually(
                lambda k=kill: streams.reconnects == k + 1 and streams.state in (S.SUBSCRIBED, S.STREAMING),  # type: ignore[misc]
                what=f"resubscribed after kill {kill + 1}",
            )
            await eventually(lambda n=closed: session.candles >= 2 * n, what=f"candle {closed}")  # type: ignore[misc]
            subs, sent = _server_side(sim, requests)
            assert subs == {"book": pairs, "ohlc": pairs, "ticker": pairs}
            assert set(sent.values()) == {1} and len(sent) == 3 * len(pairs)
            assert {ch: v - before[ch] for ch, v in _gauges().items()} == want
        sim.advance(FIVE_MIN)  # and one more after the last kill
        closed += 1
        await eventually(lambda: session.candles >= 2 * closed, what="the last candle")
        await eventually(lambda: streams.state is S.STREAMING, what="streaming")
        status = session.feed.stream_status()
        assert status["state"] == "streaming" and status["reconnects"] == KILLS
        assert status["subscriptions"] == {"ohlcv": 2, "orderbook": 2, "ticker": 2}

    assert sim.faults.counts["drop_ws"] == KILLS
    assert _gauges() == before  # counted down when the session closed the connection
    assert streams.sm.path() == [S.IDLE, S.CONNECTING, S.SUBSCRIBED, S.STREAMING] + [
        S.BACKOFF,
        S.RESUBSCRIBE,
        S.SUBSCRIBED,
        S.STREAMING,
    ] * KILLS + [S.CLOSED]
    # every closed candle of both pairs handed to the engine once, in (close time, pair) order
    expected = [(p, feeds[0].ts[start + i]) for i in range(closed) for p in pairs]
    assert handed == expected
    counts = session.feed.cache.counts
    assert counts[Outcome.DUPLICATE] + counts[Outcome.OLD] >= KILLS  # resent snapshots, dropped
    assert session.supervisor.state("market-data").restarts == 0
