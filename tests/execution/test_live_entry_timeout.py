"""Limit-entry timeout and replace against the simulator: cancel first, resubmit only the remainder,
under a new client id, only after the cancel is confirmed."""

from __future__ import annotations

from decimal import Decimal

from live_rig import FIVE_MIN, SimTime, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.orders import OrderRequest, OrderStatus, OrderType, Side
from aitrader.execution.entry_timeout import LimitEntryReplacer
from aitrader.execution.order_manager import OrderManager

D = Decimal


def test_stale_limit_entry_is_cancelled_then_its_remainder_resubmitted() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            clock = SimTime(sim)
            om = OrderManager(venue, clock)
            prices: list[tuple[str, Decimal]] = []

            def reprice(req: OrderRequest, remaining: Decimal) -> Decimal:
                prices.append((req.client_id, remaining))
                return D("0.2")  # marketable: fills at the next open

            rep = LimitEntryReplacer(om, clock, 60_000, reprice)
            first = request("at-l", Side.BUY, "0.4", OrderType.LIMIT, price="0.05")
            first.created_ms = clock.now()
            old = om.submit(first)
            pump(om, venue, lambda: old.status is OrderStatus.OPEN)
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
