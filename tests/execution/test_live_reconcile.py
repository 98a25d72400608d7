"""Reconciler against the Kraken simulator: the disagreements users of other bots hit."""

from __future__ import annotations

from decimal import Decimal

from live_rig import FIVE_MIN, SimTime, add_order_calls, new_venue, pump, request, running_sim, sim_orders

from aitrader.core.candles import Candle
from aitrader.core.orders import Order, OrderPurpose, OrderStatus, OrderType, Side
from aitrader.execution.order_manager import OrderManager
from aitrader.execution.reconcile import Divergence, Reconciler
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import KrakenSimulator

D = Decimal
SYM = "ETH/BTC"


def _long(sim: KrakenSimulator, om: OrderManager, venue: CcxtVenue, cid: str, amount: str) -> Order:
    entry = om.submit(request(cid, Side.BUY, amount))
    pump(om, venue, lambda: entry.status is OrderStatus.OPEN)
    sim.advance(FIVE_MIN)
    pump(om, venue, lambda: entry.status is OrderStatus.FILLED)
    return entry


def _stop(cid: str, amount: str, level: str = "0.05") -> object:
    return request(cid, Side.SELL, amount, OrderType.STOP_MARKET, purpose=OrderPurpose.STOP_LOSS, stop=level)


def _crash(venue: CcxtVenue, sim: KrakenSimulator, low: str) -> None:
    venue.on_candle(SYM, Candle(sim.clock.now(), 0.09, 0.09, float(low), float(low), 1.0))


def test_position_closed_by_hand_loses_its_stop_and_is_never_closed_again() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            alerts: list[Divergence] = []
            rec = Reconciler(om, venue, SimTime(sim), on_alert=alerts.append)
            _long(sim, om, venue, "at-e", "0.5")
            om.protect(SYM, _stop("at-s", "0.5"), None)  # type: ignore[arg-type]
            pump(om, venue, lambda: om.order("at-s").status is OrderStatus.OPEN)
            assert rec.run() == []  # in agreement
            # the user sells everything by hand on the exchange (no client id of ours)
            sim.engine.add_order(acc.api_key, "ETH/BTC", "sell", "market", "0.5")
            sim.advance(FIVE_MIN)
            got = rec.run()
            assert [a.kind for a in got] == ["position_reduced"] and alerts == got
            assert om.position(SYM) is None
            assert om.order("at-s").status is OrderStatus.CANCELLED and not venue.triggers.armed()
            calls = add_order_calls(sim)
            _crash(venue, sim, "0.01")  # far below the old stop: nothing may be sold
            assert rec.run() == [] and rec.run() == []  # no stop re-placed, nothing re-alerted
            assert add_order_calls(sim) == calls
            assert [o.cl_ord_id for o in sim_orders(sim, acc.api_key)] == ["at-e", None]
        finally:
            venue.close()


def _maker_only_candle(sim: KrakenSimulator) -> tuple[int, Decimal]:
    """A candle k whose high trades through a sell limit above its open and above the next open."""
    series = sim.engine.series[SYM]
    q = Decimal(1).scaleb(-sim.engine.pairs[SYM].pair_decimals)
    for k in range(16, len(series) - 1):
        lo = max(D(series.rows[k].open), D(series.rows[k + 1].open))
        hi = D(series.rows[k].high)
        price = ((lo + hi) / 2).quantize(q)
        if lo < price < hi:
            return k, price
    raise AssertionError("no suitable candle")


def test_partially_filled_exit_leaves_the_remainder_protected() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            rec = Reconciler(om, venue, SimTime(sim))
            _long(sim, om, venue, "at-e", "1")
            om.protect(SYM, _stop("at-s", "1", "0.05"), None)  # type: ignore[arg-type]
            pump(om, venue, lambda: om.order("at-s").status is OrderStatus.OPEN)
            # the engine's exit: protection off first, then a sell that fills only partly
            om.cancel("at-s")
            pump(om, venue, lambda: om.order("at-s").status is OrderStatus.CANCELLED)
            k, price = _maker_only_candle(sim)
            sim.advance_to(sim.engine.series[SYM].ts[k - 1])
            exit_ = om.submit(
                request("at-x", Side.SELL, "1", OrderType.LIMIT, price=str(price), purpose=OrderPurpose.EXIT)
            )
            pump(om, venue, lambda: exit_.status is OrderStatus.OPEN and venue.idle())
            sim.faults.burst("partial", 1)
            sim.advance_to(sim.engine.series[SYM].ts[k + 1])  # k fills partly at its close, k+1 opens below
            pump(om, venue, lambda: exit_.status is OrderStatus.PARTIALLY_FILLED)
            om.cancel("at-x")  # e.g. the exit timed out
            pump(om, venue, lambda: exit_.status is OrderStatus.CANCELLED)
            pos = om.position(SYM)
            assert pos is not None and D(0) < pos.amount < D(1)
            assert pos.stop_client_id is None or om.order(pos.stop_client_id).status.is_terminal
            got = rec.run()
            assert [a.kind for a in got] == ["stop_replaced"]
            (trig,) = venue.triggers.armed()
            assert trig.amount == pos.amount and trig.level == D("0.05")
            assert rec.run() == []  # protected now: nothing more to do
            _crash(venue, sim, "0.04")
            pump(om, venue, lambda: venue.idle() and len(sim_orders(sim, acc.api_key)) == 3)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: om.position(SYM) is None)
            sells = [o for o in sim_orders(sim, acc.api_key) if o.side == "sell"]
            assert sum(o.vol_exec for o in sells) == D(1)  # closed exactly once, in full
        finally:
            venue.close()


def test_lost_acknowledgement_is_adopted_by_client_id_not_duplicated() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            # a previous process sent this order and died before hearing back: the exchange has it,
            # our storage has it as NEW without a venue id
            sim.engine.add_order(acc.api_key, "ETH/BTC", "buy", "limit", "0.4", "0.05", cl_ord_id="at-lost")
            sent = Order(request=request("at-lost", Side.BUY, "0.4", OrderType.LIMIT, price="0.05"))
            never = Order(request=request("at-never", Side.BUY, "0.4", OrderType.LIMIT, price="0.05"))
            om = OrderManager(venue, SimTime(sim))
            om.restore([sent, never])
            rec = Reconciler(om, venue, SimTime(sim))
            got = rec.run()
            assert sorted(a.kind for a in got) == ["adopted_order", "lost_order"]
            adopted = om.order("at-lost")
            assert adopted.status is OrderStatus.OPEN and adopted.venue_id is not None
            assert om.order("at-never").status is OrderStatus.REJECTED
            assert add_order_calls(sim) == 0  # nothing was (re)sent
            assert [o.cl_ord_id for o in sim_orders(sim, acc.api_key)] == ["at-lost"]
        finally:
            venue.close()


def test_long_held_position_survives_history_older_than_any_fetch_window() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            entry = _long(sim, om, venue, "at-old", "0.5")
            # months of other trading push the entry out of every page the exchange serves (50 a page)
            for i in range(30):
                sim.engine.add_order(acc.api_key, "ETH/BTC", "buy", "market", "0.01", cl_ord_id=f"x-{i}b")
                sim.engine.add_order(acc.api_key, "ETH/BTC", "sell", "market", "0.01", cl_ord_id=f"x-{i}s")
                sim.advance(FIVE_MIN)
            history = venue.call(lambda: venue.client.fetch_my_trades(SYM))
            assert entry.fills[0].fill_id not in {t["id"] for t in history}
            # restart: a fresh manager rebuilt from our own records
            om2 = OrderManager(venue, SimTime(sim))
            om2.restore([entry])
            rec = Reconciler(om2, venue, SimTime(sim))
            assert rec.run() == []
            pos = om2.position(SYM)
            assert pos is not None and pos.amount == D("0.5") and pos.avg_price == entry.avg_price
        finally:
            venue.close()


def test_quote_moved_outside_our_orders_is_alerted_once_and_nothing_is_done() -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        venue = new_venue(sim, acc.api_key, acc.secret)
        try:
            om = OrderManager(venue, SimTime(sim))
            ours = {"BTC": Decimal("1")}  # our ledger's cash
            rec = Reconciler(om, venue, SimTime(sim), quote="BTC", ledger_balance=lambda c: ours[c])
            assert rec.run() == []  # in agreement
            acc.balances["BTC"] += Decimal("0.25")  # the user deposits on the exchange
            calls = add_order_calls(sim)
            (got,) = rec.run()
            assert (got.kind, got.symbol) == ("quote_balance", "BTC") and "+0.25" in got.detail
            assert rec.run() == []  # the same difference is not alerted again
            assert add_order_calls(sim) == calls  # nothing sent
            ours["BTC"] = Decimal("1.25")  # books agree again (e.g. the deposit was booked)
            assert rec.run() == []
        finally:
            venue.close()
