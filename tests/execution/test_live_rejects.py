"""A venue that refuses an order (the simulator's `reject` fault: Kraken's "EOrder:Orders limit
exceeded") is a definite answer: the order ends REJECTED with the exchange's reason after one
AddOrder, is never retried, and the next order goes through as usual."""

from __future__ import annotations

from live_rig import FIVE_MIN, SimTime, add_order_calls, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.orders import OrderStatus, Side
from aitrader.execution.order_manager import OrderManager


def test_refused_order_is_rejected_once_and_not_retried() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            sim.faults.burst("reject")
            refused = om.submit(request("rj-1", Side.BUY, "0.1"))
            pump(om, venue, lambda: refused.status.is_terminal)
            assert refused.status is OrderStatus.REJECTED and "Orders limit exceeded" in refused.reason
            assert add_order_calls(sim) == 1 and sim_orders(sim, acc.api_key) == []
            pump(om, venue, venue.idle)  # nothing left in flight: no retry is pending
            assert venue.stats.refused == 1 and add_order_calls(sim) == 1
            fine = om.submit(request("rj-2", Side.BUY, "0.1"))
            pump(om, venue, lambda: fine.status is OrderStatus.OPEN)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: fine.status is OrderStatus.FILLED)
            assert add_order_calls(sim) == 2
            assert [o.cl_ord_id for o in sim_orders(sim, acc.api_key)] == ["rj-2"]
            assert om.position("ETH/BTC") is not None
        finally:
            venue.close()
        assert sim.faults.counts["reject"] == 1
