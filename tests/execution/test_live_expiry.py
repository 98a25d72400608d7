"""An order the exchange expires (Kraken `expiretm`), seen through the live venue: CcxtVenue reports
EXPIRED, from the private stream or from the REST poll, and the OrderManager treats an expired entry
as it treats a cancelled one: the unfilled remainder is gone, the filled part is a position.

`OrderRequest` has no expiry field and `CcxtVenue` sends only our client id with a create, so the
orders here get their `expiretm` from a thin wrapper around the ccxt client: what an order placed with
venue params, or adopted after a restart, looks like when the exchange expires it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from live_rig import FAST, FIVE_MIN, SYM, SimTime, client_factory, pump, request, running_sim, sim_orders

from aitrader.core.orders import Order, OrderStatus, OrderType, Side
from aitrader.execution.entry_timeout import LimitEntryReplacer
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import FaultSpec, KrakenSimulator

D = Decimal


def _expiring(make: Callable[[], Any], expiretm: str) -> Callable[[], Any]:
    """The ccxt client of `make`, every create sent with Kraken's `expiretm` param."""

    def build() -> Any:
        client = make()
        create = client.create_order

        async def create_order(
            symbol: str, type: str, side: str, amount: float, price: float | None = None, params: Any = None
        ) -> Any:
            return await create(symbol, type, side, amount, price, {**(params or {}), "expiretm": expiretm})

        client.create_order = create_order
        return client

    return build


def _venue(sim: KrakenSimulator, key: str, secret: str, expiretm: str, use_ws: bool = True) -> CcxtVenue:
    make = _expiring(client_factory(sim, key, secret), expiretm)
    return CcxtVenue(make, clock=SimTime(sim), policy=FAST, poll_interval_ms=300, use_ws=use_ws).start()


@pytest.mark.parametrize("use_ws", [True, False], ids=["stream", "rest-poll"])
def test_an_entry_the_exchange_expires_is_expired_here(use_ws: bool) -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = _venue(sim, acc.api_key, acc.secret, "+600", use_ws=use_ws)
        try:
            om = OrderManager(venue, SimTime(sim))
            order = om.submit(request("at-x", Side.BUY, "0.4", OrderType.LIMIT, price="0.05"))
            pump(om, venue, lambda: order.status is OrderStatus.OPEN)
            (remote,) = sim_orders(sim, acc.api_key)
            assert remote.expire_ms == remote.opened_ms + 600_000  # the param reached the exchange
            sim.advance(FIVE_MIN)
            venue.poke()
            pump(om, venue, lambda: venue.idle(), 5)
            assert order.status is OrderStatus.OPEN  # 300 s of 600
            sim.advance(FIVE_MIN)
            venue.poke()
            pump(om, venue, lambda: order.status is OrderStatus.EXPIRED)
            assert order.filled == 0 and order.reason == "Order expired"
            assert om.open_orders() == [] and om.position(SYM) is None
            assert venue.tracker.pending() == [] and venue.tracker.anomalies == []
            assert [(o.cl_ord_id, o.status) for o in sim_orders(sim, acc.api_key)] == [("at-x", "expired")]
            assert sim.engine.holds(acc.api_key) == {}  # the exchange released the reservation too
        finally:
            venue.close()


def test_a_partly_filled_entry_that_expires_keeps_what_it_bought() -> None:
    with running_sim(FaultSpec()) as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = _venue(sim, acc.api_key, acc.secret, "+400")
        try:
            om = OrderManager(venue, SimTime(sim))
            order = om.submit(request("at-p", Side.BUY, "1"))
            pump(om, venue, lambda: order.status is OrderStatus.OPEN)
            sim.faults.burst("partial")
            sim.advance(FIVE_MIN)  # the next open fills 20-80 %
            pump(om, venue, lambda: order.status is OrderStatus.PARTIALLY_FILLED)
            sim.advance(FIVE_MIN)  # expires at 400 s, before the open that would fill the rest
            venue.poke()
            pump(om, venue, lambda: order.status is OrderStatus.EXPIRED)
            (remote,) = sim_orders(sim, acc.api_key)
            assert remote.status == "expired" and D(0) < remote.vol_exec < D(1)
            assert order.filled == remote.vol_exec and len(order.fills) == len(remote.trade_ids) == 1
            pos = om.position(SYM)
            assert pos is not None and pos.amount == remote.vol_exec and pos.entry_client_id == "at-p"
            assert om.open_orders() == []
        finally:
            venue.close()


def test_an_expired_limit_entry_is_replaced_like_a_cancelled_one() -> None:
    """The limit-entry replacer resubmits the remainder of an entry that ended unfilled, whether its
    cancel landed or the exchange expired it first."""
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = _venue(sim, acc.api_key, acc.secret, "+120")
        try:
            clock = SimTime(sim)
            om = OrderManager(venue, clock)
            req = request("at-r", Side.BUY, "0.4", OrderType.LIMIT, price="0.05")
            req.created_ms = clock.now()
            old: Order = om.submit(req)
            pump(om, venue, lambda: old.status is OrderStatus.OPEN)
            rep = LimitEntryReplacer(om, clock, 60_000, lambda r, remaining: D("0.05"))
            sim.advance(FIVE_MIN)  # stale: its cancel is asked, but the exchange expired it at 120 s
            assert rep.check() == []
            pump(om, venue, lambda: old.status is OrderStatus.EXPIRED and venue.idle())
            (done,) = rep.check()
            assert done.old is old and done.new is not None and done.new.amount == D("0.4")
            assert rep.replaced == {"at-r": done.new.client_id}
        finally:
            venue.close()
