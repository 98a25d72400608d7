"""An order the exchange expires (Kraken `expiretm`), seen through the live venue: CcxtVenue reports
EXPIRED, from the private stream or from the REST poll, and the OrderManager treats an expired entry
as it treats a cancelled one: the unfilled remainder is gone, the filled part is a position.

The expiry is the request's own `expire_ms`, which CcxtVenue sends to Kraken as `timeinforce=GTD`
with `expiretm` in unix seconds.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from live_rig import FAST, FIVE_MIN, SYM, SimTime, client_factory, pump, request, running_sim, sim_orders

from aitrader.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from aitrader.execution.entry_timeout import LimitEntryReplacer
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import FaultSpec, KrakenSimulator

D = Decimal


def _venue(sim: KrakenSimulator, key: str, secret: str, use_ws: bool = True) -> CcxtVenue:
    make = client_factory(sim, key, secret)
    return CcxtVenue(make, clock=SimTime(sim), policy=FAST, poll_interval_ms=300, use_ws=use_ws).start()


def _expiring(req: OrderRequest, sim: KrakenSimulator, after_ms: int) -> OrderRequest:
    """`req`, sent now, good till `after_ms` from now (OrderRequest.expire_ms: Kraken GTD)."""
    req.created_ms = SimTime(sim).now()
    req.expire_ms = req.created_ms + after_ms
    return req


@pytest.mark.parametrize("use_ws", [True, False], ids=["stream", "rest-poll"])
def test_an_entry_the_exchange_expires_is_expired_here(use_ws: bool) -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = _venue(sim, acc.api_key, acc.secret, use_ws=use_ws)
        try:
            om = OrderManager(venue, SimTime(sim))
            req = request("at-x", Side.BUY, "0.4", OrderType.LIMIT, price="0.05")
            order = om.submit(_expiring(req, sim, 600_000))
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
        venue = _venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            order = om.submit(_expiring(request("at-p", Side.BUY, "1"), sim, 400_000))
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
        venue = _venue(sim, acc.api_key, acc.secret)
        try:
            clock = SimTime(sim)
            om = OrderManager(venue, clock)
            req = _expiring(request("at-r", Side.BUY, "0.4", OrderType.LIMIT, price="0.05"), sim, 120_000)
            old: Order = om.submit(req)
            pump(om, venue, lambda: old.status is OrderStatus.OPEN)
            rep = LimitEntryReplacer(om, clock, 60_000, lambda r, remaining: D("0.05"))
            sim.advance(FIVE_MIN)  # stale: its cancel is asked, but the exchange expired it at 120 s
            assert rep.check() == []
            pump(om, venue, lambda: old.status is OrderStatus.EXPIRED and venue.idle())
            (done,) = rep.check()
            assert done.old is old and done.new is not None and done.new.amount == D("0.4")
            assert rep.replaced == {"at-r": done.new.client_id}
            # the replacement keeps the venue-side lifetime, counted from its own sending
            assert done.new.expire_ms == done.new.created_ms + 120_000 > req.expire_ms
            new_cid = done.new.client_id
            pump(om, venue, lambda: any(o.cl_ord_id == new_cid for o in sim_orders(sim, acc.api_key)))
            remote = {o.cl_ord_id: o for o in sim_orders(sim, acc.api_key)}[new_cid]
            assert remote.expire_ms == done.new.expire_ms
        finally:
            venue.close()
