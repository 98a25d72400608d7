"""End to end: a bounded session against the simulator with every fault on; at the end there are no
duplicate orders on the exchange and our orders, fills and balances equal the exchange's."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from live_rig import FIVE_MIN, SimTime, add_order_calls, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.orders import Order, OrderStatus, OrderType, Side
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import FaultSpec

D = Decimal


def _answered(order: Order, venue: CcxtVenue) -> bool:
    return order.status is not OrderStatus.NEW and venue.idle()


_STATUS = {"closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED}


def test_faulty_session_ends_with_no_duplicates_and_equal_books() -> None:
    faults = FaultSpec(
        http_429=0.08,
        http_5xx=0.08,
        timeout_after_accept=0.2,
        partial=0.4,
        duplicate_ws=0.25,
        reorder_ws=0.25,
        drop_ws=0.03,
        seed=7,
    )
    n = 14
    with running_sim(faults, hang_s=1.0) as sim:
        acc = sim.add_account({"BTC": "5", "ETH": "5"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            cids = []
            for i in range(n):
                cid = f"at-s-{i}"
                cids.append(cid)
                if i % 3 == 0:
                    req = request(cid, Side.BUY, "0.3")
                elif i % 3 == 1:
                    req = request(cid, Side.SELL, "0.2")
                else:
                    req = request(cid, Side.BUY, "0.25", OrderType.LIMIT, price="0.05")  # rests; cancelled
                order = om.submit(req)
                pump(om, venue, partial(_answered, order, venue), 20)
                if i % 3 == 2:
                    om.cancel(cid)
                sim.advance(FIVE_MIN)
            for _ in range(3):  # partial fills finish on later candles
                sim.advance(FIVE_MIN)
            pump(om, venue, lambda: venue.idle() and not om.open_orders(), 30)
            assert not venue.tracker.anomalies and not venue.errors
            hit = sim.faults.counts
            for kind in (
                "http_429",
                "http_5xx",
                "timeout_after_accept",
                "partial",
                "duplicate_ws",
                "reorder_ws",
            ):
                assert hit.get(kind, 0) > 0, f"fault {kind} never struck: {hit}"

            remote = sim_orders(sim, acc.api_key)
            # no duplicates: exactly one exchange order per client id, though AddOrder was retried
            assert sorted(o.cl_ord_id or "" for o in remote) == sorted(cids)
            assert add_order_calls(sim) > n
            by_cid = {o.cl_ord_id: o for o in remote}
            for cid in cids:
                mine, theirs = om.order(cid), by_cid[cid]
                assert mine.venue_id == theirs.txid, cid
                assert mine.status is _STATUS[theirs.status], cid
                assert mine.filled == theirs.vol_exec and mine.fees == theirs.fee, cid
                assert sorted(f.fill_id for f in mine.fills) == sorted(theirs.trade_ids), cid
                for f in mine.fills:
                    t = sim.engine.trades[f.fill_id]
                    assert (f.amount, f.price, f.fee, f.ts) == (t.vol, t.price, t.fee, t.ts_ms), cid
            local = venue.refresh_balances()
            assert {c: local[c] for c in ("BTC", "ETH")} == {c: acc.balances[c] for c in ("BTC", "ETH")}
            held = sum((o.filled * o.request.side.sign for o in om.orders()), D(0))
            assert acc.balances["ETH"] == D(5) + held
        finally:
            venue.close()
