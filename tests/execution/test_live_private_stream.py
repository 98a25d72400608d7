"""The venue's private stream (own orders and fills) under the supervised lifecycle, socket killed repeatedly.

What must hold after every server-side close of the private socket: the state machine went
backoff -> resubscribe -> subscribed, exactly one live private socket with the same subscribe
requests on it as the first one had, the `ws_subscriptions` gauge shows one `orders` and one
`my_trades` subscription, and every fill reached the order manager exactly once (the fill whose
message died with the socket comes from the REST poll the loss triggers, not twice).
"""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from typing import Any

from live_rig import FIVE_MIN, SimTime, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.orders import Fill, OrderStatus, Side
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.state import ConnectionState as S
from aitrader.execution.order_manager import OrderManager
from aitrader.metrics import WS_RECONNECTS, WS_SUBSCRIPTIONS
from aitrader.venues.simulator import KrakenSimulator

KILLS = 3
CHANNELS = ("orders", "my_trades")


def _gauges() -> dict[str, float]:
    return {ch: float(WS_SUBSCRIPTIONS.labels(ch)._value.get()) for ch in CHANNELS}


def _private_socket(sim: KrakenSimulator) -> tuple[int, Counter[str]]:
    """(live private sockets on the server, subscribe requests per channel on the one live socket)."""
    live = [c for c in sim.ws.conns if c.private and not c.ws.closed]
    if len(live) != 1:
        return len(live), Counter()
    sent = Counter(
        str(r["params"]["channel"])
        for c, r in sim.ws.subscriptions_log
        if c is live[0] and r["method"] == "subscribe"
    )
    return 1, sent


def test_killed_private_socket_resubscribes_once_and_no_fill_is_lost_or_doubled() -> None:
    before = _gauges()
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "5"})
        venue = new_venue(
            sim,
            acc.api_key,
            acc.secret,
            poll_interval_ms=60_000,  # fills come from the stream, or from the poll a loss triggers
            backoff=lambda: Backoff(0.01, 0.05, rng=random.Random(3)),
        )
        om = OrderManager(venue, SimTime(sim))
        reconnects = WS_RECONNECTS.labels("orders")._value.get()
        try:
            streams = venue.streams
            assert streams is not None
            pump(om, venue, lambda: streams.state is S.SUBSCRIBED, timeout=5)
            assert {ch: _gauges()[ch] - before[ch] for ch in CHANNELS} == {"orders": 1, "my_trades": 1}
            pump(om, venue, lambda: _private_socket(sim)[0] == 1)
            _, first = _private_socket(sim)
            assert first and set(first) == {"executions"}

            def buy(i: int) -> Any:
                o = om.submit(request(f"ps-{i}", Side.BUY, "0.1"))
                pump(om, venue, lambda: o.status is OrderStatus.OPEN)
                return o

            o = buy(0)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: o.status is OrderStatus.FILLED)
            assert streams.state is S.STREAMING
            for kill in range(1, KILLS + 1):
                o = buy(kill)
                sim.faults.burst("drop_ws")  # the fill's message kills the socket instead of arriving
                sim.advance(FIVE_MIN)
                pump(om, venue, lambda o=o: o.status is OrderStatus.FILLED)  # via the poll the loss pokes
                pump(om, venue, lambda k=kill: streams.reconnects == k and streams.state is S.SUBSCRIBED)
                pump(om, venue, lambda: _private_socket(sim)[0] == 1)
                assert _private_socket(sim)[1] == first  # the same subscriptions, once, on one socket
                assert {ch: _gauges()[ch] - before[ch] for ch in CHANNELS} == {"orders": 1, "my_trades": 1}
            last = buy(KILLS + 1)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: last.status is OrderStatus.FILLED)
            pump(om, venue, lambda: streams.state is S.STREAMING)
        finally:
            venue.close()
        assert sim.faults.counts["drop_ws"] == KILLS
        assert venue.stats.ws_errors == KILLS
        assert WS_RECONNECTS.labels("orders")._value.get() - reconnects == KILLS
        assert _gauges() == before  # counted down when the venue closed

        fills: list[Fill] = [f for order in om.orders() for f in order.fills]
        traded = [t for t in sim.engine.trades.values() if t.api_key == acc.api_key]
        assert len(traded) == KILLS + 2 == len({o.cl_ord_id for o in sim_orders(sim, acc.api_key)})
        assert sorted(f.fill_id for f in fills) == sorted(str(t.trade_id) for t in traded)
        assert sum((f.amount for f in fills), Decimal(0)) == Decimal("0.1") * (KILLS + 2)
