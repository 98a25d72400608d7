"""Limit-entry timeout and replace against the simulator: cancel first, resubmit only the remainder,
under a new client id, only after the cancel is confirmed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from live_rig import FIVE_MIN, SimTime, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from aitrader.execution.entry_timeout import LimitEntryReplacer
from aitrader.execution.order_manager import OrderManager

D = Decimal


def _resting(sim: Any, venue: Any, cid: str) -> tuple[SimTime, OrderManager, Order]:
    """A buy limit of 0.4 ETH at 0.05 (below the market) that the exchange acknowledged."""
    clock = SimTime(sim)
    om = OrderManager(venue, clock)
    req = request(cid, Side.BUY, "0.4", OrderType.LIMIT, price="0.05")
    req.created_ms = clock.now()
    order = om.submit(req)
    pump(om, venue, lambda: order.status is OrderStatus.OPEN)
    return clock, om, order


def test_stale_limit_entry_is_cancelled_then_its_remainder_resubmitted() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            clock, om, old = _resting(sim, venue, "at-l")
            prices: list[tuple[str, Decimal]] = []

            def reprice(req: OrderRequest, remaining: Decimal) -> Decimal:
                prices.append((req.client_id, remaining))
                return D("0.2")  # marketable: fills at the next open

            rep = LimitEntryReplacer(om, clock, 60_000, reprice)
            assert rep.check() == []  # not stale yet
            sim.advance(FIVE_MIN)
            assert rep.check() == []  # cancel requested, not yet confirmed: nothing resubmitted
            assert len(sim_orders(sim, acc.api_key)) == 1
            pump(om, venue, lambda: old.status is OrderStatus.CANCELLED)
            (expired,) = rep.check()
            new = expired.new
            assert new is not None and expired.old is old
            assert new.client_id != "at-l" and new.amount == D("0.4") - old.filled
            assert prices == [("at-l", new.amount)] and rep.replaced == {"at-l": new.client_id}
            pump(om, venue, lambda: om.order(new.client_id).status is OrderStatus.OPEN and venue.idle())
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: om.order(new.client_id).status is OrderStatus.FILLED)
            assert rep.check() == []
            remote = sim_orders(sim, acc.api_key)
            assert [(o.cl_ord_id, o.status) for o in remote] == [
                ("at-l", "canceled"),
                (new.client_id, "closed"),
            ]
            pos = om.position("ETH/BTC")
            assert pos is not None and pos.amount == D("0.4")
        finally:
            venue.close()


def test_an_abandoned_entry_is_not_replaced_when_its_cancel_lands() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            clock, om, old = _resting(sim, venue, "at-a")
            rep = LimitEntryReplacer(om, clock, 60_000, lambda req, remaining: D("0.2"))
            sim.advance(FIVE_MIN)
            assert rep.check() == [] and rep.cancelling("at-a")  # cancel asked, not confirmed
            rep.abandon("at-a")  # e.g. the signal turned while the cancel was on its way
            pump(om, venue, lambda: old.status is OrderStatus.CANCELLED)
            (expired,) = rep.check()
            assert expired.old is old and expired.new is None and rep.replaced == {}
            assert [o.cl_ord_id for o in sim_orders(sim, acc.api_key)] == ["at-a"]  # nothing sent
        finally:
            venue.close()
