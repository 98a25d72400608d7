"""CcxtVenue against the Kraken simulator with a real ccxt.pro client: events, idempotent submit under
faults (timeout after accept, 5xx, 429), cancels, partial fills and engine-side stops."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "execution"))

from live_rig import (
    FIVE_MIN,
    SimTime,
    add_order_calls,
    new_venue,
    pump,
    request,
    running_sim,
    sim_orders,
)

from aitrader.core.orders import OrderPurpose, OrderStatus, OrderType, Side
from aitrader.core.ports import OrderUpdate
from aitrader.execution.order_manager import OrderManager
from aitrader.metrics import REGISTRY

D = Decimal


def test_market_order_acknowledged_filled_and_balances_follow() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2", "ETH": "0"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            acks = REGISTRY.get_sample_value("aitrader_order_roundtrip_seconds_count", {"venue": "kraken"})
            order = om.submit(request("at-1", Side.BUY, "0.5"))
            pump(om, venue, lambda: order.status is OrderStatus.OPEN)
            assert order.venue_id is not None
            # the acknowledgement's round trip is in the order-latency histogram
            after = REGISTRY.get_sample_value("aitrader_order_roundtrip_seconds_count", {"venue": "kraken"})
            assert after == (acks or 0.0) + 1
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: order.status is OrderStatus.FILLED)
            (remote,) = sim_orders(sim, acc.api_key)
            assert remote.cl_ord_id == "at-1" and remote.txid == order.venue_id
            assert order.filled == remote.vol_exec and order.fees == remote.fee
            assert [f.fill_id for f in order.fills] == remote.trade_ids
            pump(om, venue, lambda: venue.balances().get("ETH") == D("0.5"))
            assert venue.balances()["BTC"] == acc.balances["BTC"]
        finally:
            venue.close()


@pytest.mark.parametrize("fault", ["timeout_after_accept", "http_5xx", "http_429"])
def test_failed_submit_is_resolved_by_client_id_never_doubled(fault: str) -> None:
    with running_sim(hang_s=1.5) as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            sim.faults.burst(fault, 2 if fault != "timeout_after_accept" else 1)
            order = om.submit(request("at-x", Side.BUY, "0.5", OrderType.LIMIT, price="0.05"))
            pump(om, venue, lambda: order.status is OrderStatus.OPEN and venue.idle())
            mine = sim_orders(sim, acc.api_key)
            assert [o.cl_ord_id for o in mine] == ["at-x"]
            assert order.venue_id == mine[0].txid
            assert venue.stats.ambiguous_submits >= 1
            if fault == "timeout_after_accept":
                # accepted once; the lookup found it, so AddOrder was never sent again
                assert add_order_calls(sim) == 1 and venue.stats.resolved_by_lookup == 1
            else:
                # refused before it reached the book: lookups said "not there", then one retry placed it
                assert add_order_calls(sim) >= 2 and venue.stats.resolved_by_lookup == 0
            if fault == "http_429":
                assert venue.stats.rate_limited >= 1
            # the same client id again sends nothing
            om.submit(request("at-x", Side.BUY, "0.5", OrderType.LIMIT, price="0.05"))
            venue.submit(request("at-x", Side.BUY, "0.5", OrderType.LIMIT, price="0.05"))
            settle_calls = add_order_calls(sim)
            venue.poke()
            pump(om, venue, lambda: venue.stats.polls >= 3)
            assert add_order_calls(sim) == settle_calls and len(sim_orders(sim, acc.api_key)) == 1
        finally:
            venue.close()


def test_refused_order_is_rejected_without_retry() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "0.01"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            order = om.submit(request("at-poor", Side.BUY, "5"))
            pump(om, venue, lambda: order.status is OrderStatus.REJECTED)
            assert "InsufficientFunds" in order.reason
            assert add_order_calls(sim) == 1 and sim_orders(sim, acc.api_key) == []
        finally:
            venue.close()


@pytest.mark.interpreted
def test_partial_fill_then_cancel_keeps_exact_quantities() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "2"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            seen: list[OrderStatus] = []
            orig = om.apply_update

            def spy(u: OrderUpdate) -> None:
                seen.append(u.status)
                orig(u)

            om.apply_update = spy  # type: ignore[method-assign,assignment]
            sim.faults.burst("partial", 1)
            order = om.submit(request("at-p", Side.BUY, "1"))
            pump(om, venue, lambda: order.status is OrderStatus.OPEN)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: order.status is OrderStatus.PARTIALLY_FILLED)
            om.cancel("at-p")
            pump(om, venue, lambda: order.status is OrderStatus.CANCELLED)
            (remote,) = sim_orders(sim, acc.api_key)
            assert remote.status == "canceled" and D(0) < remote.vol_exec < D(1)
            assert order.filled == remote.vol_exec
            assert sum(f.amount for f in order.fills) == remote.vol_exec
            assert seen[0] is OrderStatus.OPEN and seen[-1] is OrderStatus.CANCELLED
        finally:
            venue.close()


def _long_with_stop(sim: Any, venue: Any) -> OrderManager:
    """A long of 0.5 ETH bought through the venue, protected by an engine-side stop at 0.05."""
    om = OrderManager(venue, SimTime(sim))
    entry = om.submit(request("at-e", Side.BUY, "0.5"))
    pump(om, venue, lambda: entry.status is OrderStatus.OPEN)
    sim.advance(FIVE_MIN)
    pump(om, venue, lambda: entry.status is OrderStatus.FILLED)
    stop = request(
        "at-s", Side.SELL, "0.5", OrderType.STOP_MARKET, purpose=OrderPurpose.STOP_LOSS, stop="0.05"
    )
    om.protect("ETH/BTC", stop, None)
    pump(om, venue, lambda: om.order("at-s").status is OrderStatus.OPEN)
    return om


def test_stop_is_an_engine_side_trigger_that_closes_with_a_market_order() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"ETH": "1", "BTC": "0"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            acc.balances["BTC"] = D("1")
            om = _long_with_stop(sim, venue)
            assert [o.cl_ord_id for o in sim_orders(sim, acc.api_key)] == ["at-e"]  # nothing rests
            from aitrader.core.candles import Candle

            venue.on_candle("ETH/BTC", Candle(sim.clock.now(), 0.09, 0.091, 0.06, 0.07, 10.0))
            assert [t.client_id for t in venue.triggers.armed()] == ["at-s"]  # 0.06 is above the stop
            venue.on_candle("ETH/BTC", Candle(sim.clock.now(), 0.07, 0.07, 0.049, 0.05, 10.0))
            pump(om, venue, lambda: len(sim_orders(sim, acc.api_key)) == 2 and venue.idle())
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: om.order("at-s").status is OrderStatus.FILLED)
            assert om.position("ETH/BTC") is None
            sell = next(o for o in sim_orders(sim, acc.api_key) if o.cl_ord_id == "at-s")
            assert sell.ordertype == "market" and sell.vol_exec == D("0.5")
        finally:
            venue.close()


def test_a_streamed_tick_fires_a_stop_before_the_candle_closes() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"ETH": "1", "BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = _long_with_stop(sim, venue)
            venue.on_tick("ETH/BTC", 0.0501, sim.clock.now())
            venue.on_tick("ETH/BTC", float("nan"), sim.clock.now())  # a placeholder tick: ignored
            assert [t.client_id for t in venue.triggers.armed()] == ["at-s"]
            venue.on_tick("ETH/BTC", 0.0499, sim.clock.now())  # through the stop, mid-candle
            assert venue.triggers.armed() == []
            pump(om, venue, lambda: len(sim_orders(sim, acc.api_key)) == 2 and venue.idle())
            sell = next(o for o in sim_orders(sim, acc.api_key) if o.cl_ord_id == "at-s")
            assert sell.ordertype == "market"
        finally:
            venue.close()
