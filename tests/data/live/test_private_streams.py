"""Own orders and fills (live mode) reach the execution layer's callbacks once each, across a reconnect.

After the private socket is killed, Kraken's executions snapshot resends the open orders on the new
socket; an order state already delivered must not be delivered again, while the update the kill
swallowed must still arrive.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from live_helpers import SimClock, eventually

from aitrader.data.live.backoff import Backoff
from aitrader.data.live.client import MarketDataClient
from aitrader.data.live.dedupe import order_key
from aitrader.data.live.state import ConnectionState as S
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.simulator import KrakenSimulator, Series

SYM = "ETH/BTC"
FIVE_MIN = 300_000


async def test_orders_and_fills_once_each_across_a_private_reconnect(
    sim: KrakenSimulator, eth_btc: Series
) -> None:
    acc = sim.add_account({"BTC": "2", "ETH": "10"})
    opts = {"rateLimit": 5}
    pub = make_exchange("kraken", sim.base_url, sim.ws_url, pro=True, options=opts)
    priv = make_exchange("kraken", sim.base_url, sim.ws_url, acc.api_key, acc.secret, pro=True, options=opts)
    client = MarketDataClient(
        pub,
        [SYM],
        "5m",
        higher=(),
        ticker=False,
        book=False,
        private_exchange=priv,
        clock=SimClock(sim),
        backoff=lambda: Backoff(0.01, 0.05, rng=random.Random(3)),
        tick_s=0.02,
    )
    orders: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    assert client.on_order(orders.append) and not client.on_order(orders.append)
    client.on_trade(trades.append)
    assert client.private is not None
    private = client.private

    def executions_subscribed() -> bool:
        return any("executions" in c.subs and not c.ws.closed for c in sim.ws.conns)

    try:
        await client.start()
        await eventually(lambda: private.state is S.SUBSCRIBED, what="private socket open")
        await eventually(executions_subscribed, what="executions subscribed")
        price = float(Decimal(eth_btc.rows[200].open) * Decimal("0.5"))
        resting = await priv.create_order(SYM, "limit", "buy", 0.5, price)
        await eventually(lambda: any(o["id"] == resting["id"] for o in orders), what="resting order")
        sim.faults.burst("drop_ws")
        market = await priv.create_order(SYM, "market", "buy", 0.2)  # its update kills the socket
        await eventually(lambda: private.reconnects == 1, what="private reconnect")
        await eventually(executions_subscribed, what="executions subscribed again")
        await eventually(
            lambda: any(o["id"] == market["id"] for o in orders), what="order resent on reconnect"
        )
        sim.advance(FIVE_MIN)  # the market order fills at the next open
        await eventually(lambda: any(t["order"] == market["id"] for t in trades), what="fill")
        await eventually(
            lambda: any(o["id"] == market["id"] and o["status"] == "closed" for o in orders),
            what="order closed",
        )
    finally:
        await client.stop()
        await pub.close()
        await priv.close()

    assert sim.faults.counts["drop_ws"] == 1
    keys = [order_key(o) for o in orders]
    assert len(set(keys)) == len(keys)  # no order state delivered twice
    assert [(o["id"], o["status"]) for o in orders if o["id"] == market["id"]] == [
        (market["id"], "open"),  # swallowed by the kill, delivered by the snapshot on the new socket
        (market["id"], "closed"),
    ]
    assert sum(1 for o in orders if o["id"] == resting["id"]) == 1  # resent in the snapshot, dropped
    assert client.duplicates.get("orders", 0) >= 1
    assert len({t["id"] for t in trades}) == len(trades) == 1
    assert trades[0]["price"] == float(eth_btc.rows[201].open) and trades[0]["amount"] == 0.2
    assert S.BACKOFF in private.sm.path() and S.RESUBSCRIBE in private.sm.path()
