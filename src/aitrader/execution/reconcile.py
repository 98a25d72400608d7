"""Reconciler: at start and on a schedule, make our books agree with the exchange's, or say why not.

Why: a live venue loses messages, the process restarts, and users touch their accounts by hand. The
failures users of other bots report are all disagreements nobody looked for: an order sent whose
acknowledgement was lost (re-sent, so doubled), a fill missed (position size wrong), a position
closed by hand (the bot keeps re-placing its stop, and the stop then sells coins that are not the
position's), an exit that filled only partly (the remainder left without a stop), a position older
than the exchange's history window (rebuilt as "no position").

What it does, in this order, each step safe to repeat:
1. orders: every non-final order of ours is looked up by client id and the exchange's state and
   fills are adopted through the venue's event stream (never re-sent); an order that never reached
   the exchange is closed locally; open orders with our id prefix that we do not know are alerted;
2. positions vs balances: positions come from our own fills (restored from storage, so age does
   not matter); if the exchange holds less than a position, the position was reduced outside our
   orders: it is set to what is held, its protective orders are cancelled and never re-placed, and
   nothing is ever sent to close it (a position is never closed twice);
3. protection: an open position whose stop is gone (e.g. after a partially filled exit) gets a new
   stop for the remainder at the last stop level; an armed stop larger than the position shrinks.
Also, when given our books' cash (`ledger_balance`, `quote`): while none of our orders is working,
the exchange's quote balance is compared with the ledger's; a difference beyond `quote_tolerance`
(a deposit, a withdrawal, a fee we never saw) is alerted once per distinct amount, never acted on.
Every divergence goes to the `on_alert` callback and is counted in `counts`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from aitrader.core.clock import Clock
from aitrader.core.orders import Order, OrderPurpose, OrderRequest, OrderStatus, OrderType
from aitrader.core.ports import VenueEvent
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.exchange import CcxtVenue, client_id_of

_ZERO = Decimal(0)
_STOPS = (OrderPurpose.STOP_LOSS, OrderPurpose.TRAILING_STOP)


@dataclass(frozen=True, slots=True)
class Divergence:
    # adopted_order | lost_order | unknown_order | position_reduced | stop_replaced | stop_resized |
    # quote_balance
    kind: str
    symbol: str
    detail: str
    ts: int
    client_id: str = ""


class Reconciler:
    def __init__(
        self,
        om: OrderManager,
        venue: CcxtVenue,
        clock: Clock,
        *,
        on_alert: Callable[[Divergence], None] | None = None,
        sink: Callable[[list[VenueEvent]], object] | None = None,
        interval_ms: int = 60_000,
        id_prefix: str = "at",
        lost_after_ms: int = 0,
        dust: Decimal = Decimal("1e-8"),
        quote: str | None = None,
        ledger_balance: Callable[[str], Decimal] | None = None,
        quote_tolerance: Decimal = Decimal("1e-6"),
    ) -> None:
        self.om = om
        self.venue = venue
        self.clock = clock
        self.on_alert = on_alert
        self.sink: Callable[[list[VenueEvent]], object] = sink or om.on_events
        self.interval_ms = interval_ms
        self.id_prefix = id_prefix
        self.lost_after_ms = lost_after_ms
        self.dust = dust
        self.quote = quote
        self.ledger_balance = ledger_balance
        self.quote_tolerance = quote_tolerance
        self._quote_alerted: Decimal | None = None  # the difference last alerted
        self.counts: Counter[str] = Counter()
        self.alerts: list[Divergence] = []
        self.runs = 0
        self._last_run: int | None = None

    def maybe_run(self) -> list[Divergence]:
        """Reconcile if `interval_ms` passed since the last run (call it from the engine's loop)."""
        now = self.clock.now()
        if self._last_run is not None and now - self._last_run < self.interval_ms:
            return []
        return self.run()

    def run(self) -> list[Divergence]:
        self._last_run = self.clock.now()
        self.runs += 1
        before = len(self.alerts)
        self._orders()
        self._positions()
        self._protection()
        return self.alerts[before:]

    # ---- 1. orders

    def _orders(self) -> None:
        now = self.clock.now()
        remote = [o for o in self.om.open_orders() if self.venue.triggers.get(o.request.client_id) is None]
        self.venue.restore([o for o in remote if self.venue.tracker.view(o.request.client_id) is None])
        for order in remote:
            cid = order.request.client_id
            view = self.venue.tracker.view(cid)
            if view is not None and view.venue_id is None and view.acked:
                continue  # a fired trigger being placed right now
            found = self.venue.call(lambda c=cid: self.venue.resolve(c))  # type: ignore[misc]
            if found and order.status is OrderStatus.NEW:
                self._alert("adopted_order", order, "acknowledgement lost; adopted by client id", now)
            elif (
                not found
                and order.status is OrderStatus.NEW
                and now - order.request.created_ms >= self.lost_after_ms
            ):
                self.venue.tracker.finish_locally(cid, OrderStatus.REJECTED, now, "not on the exchange")
                self._alert("lost_order", order, "never reached the exchange; closed locally", now)
        known = {o.request.client_id for o in self.om.orders()}
        for o in self.venue.call(self.venue.remote_open_orders):
            theirs = client_id_of(o)
            if theirs and theirs.startswith(self.id_prefix + "-") and theirs not in known:
                self._record(
                    Divergence(
                        "unknown_order",
                        str(o.get("symbol")),
                        "open on the exchange, unknown here",
                        now,
                        theirs,
                    )
                )
        self.sink(self.venue.drain_events())

    # ---- 2. positions vs balances

    def _positions(self) -> None:
        now = self.clock.now()
        balances = self.venue.refresh_balances()
        for symbol, pos in list(self.om.positions().items()):
            if pos.amount <= _ZERO:
                continue  # spot venue: shorts are not held as balances
            if any(self.venue.triggers.get(o.request.client_id) is None for o in self.om.open_orders(symbol)):
                continue  # an order of ours is working: fills may be in flight, look next time
            held = balances.get(symbol.split("/")[0], _ZERO)
            if held + self.dust >= pos.amount:
                continue
            new_amount = held if held > self.dust else _ZERO
            self.om.adjust_position(symbol, new_amount, now)
            self.sink(self.venue.drain_events())
            if new_amount > _ZERO:
                self._resize_stop(symbol, new_amount)
            self._record(
                Divergence(
                    "position_reduced",
                    symbol,
                    f"we hold {pos.amount} by our fills, the exchange {held}: reduced outside our orders; "
                    "protection " + ("resized" if new_amount else "cancelled, nothing sent to close it"),
                    now,
                )
            )
        self.sink(self.venue.drain_events())
        self._quote_balance(balances, now)

    def _quote_balance(self, balances: dict[str, Decimal], now: int) -> None:
        if self.quote is None or self.ledger_balance is None:
            return
        if any(self.venue.triggers.get(o.request.client_id) is None for o in self.om.open_orders()):
            return  # an order of ours is working: cash may be moving, look next time
        theirs, ours = balances.get(self.quote, _ZERO), self.ledger_balance(self.quote)
        diff = theirs - ours
        if abs(diff) <= self.quote_tolerance:
            self._quote_alerted = None
            return
        if diff == self._quote_alerted:
            return
        self._quote_alerted = diff
        self._record(
            Divergence(
                "quote_balance",
                self.quote,
                f"the exchange holds {theirs} {self.quote}, our ledger {ours} ({diff:+}): moved outside "
                "our orders (deposit, withdrawal, unseen fee); nothing changed here",
                now,
            )
        )

    # ---- 3. protection

    def _protection(self) -> None:
        now = self.clock.now()
        for symbol, pos in list(self.om.positions().items()):
            amount = abs(pos.amount)
            if pos.stop_client_id is not None and not self.om.order(pos.stop_client_id).status.is_terminal:
                self._resize_stop(symbol, amount)
                continue
            if any(o.request.purpose is OrderPurpose.EXIT for o in self.om.open_orders(symbol)):
                continue  # an exit is working; protection is looked at again after it ends
            last = _last_stop(self.om.orders(), symbol)
            if last is None:
                continue  # the position was never given a stop: nothing to restore
            new = self._stop_request(symbol, amount, last, last.request.stop_price)
            self.om.protect(symbol, new, None)
            self._record(
                Divergence(
                    "stop_replaced",
                    symbol,
                    f"no stop on {amount}: new stop at {new.stop_price}",
                    now,
                    new.client_id,
                )
            )
        self.sink(self.venue.drain_events())

    def _stop_request(self, symbol: str, amount: Decimal, like: Order, level: Decimal | None) -> OrderRequest:
        req = like.request
        return OrderRequest(
            client_id=self.om.new_client_id(symbol),
            symbol=symbol,
            side=self.om.exit_side(symbol),
            type=OrderType.STOP_MARKET,
            amount=amount,
            stop_price=level,
            purpose=req.purpose,
            created_ms=self.clock.now(),
            strategy=req.strategy,
            reduce_only=True,
            trail=req.trail,
        )

    def _resize_stop(self, symbol: str, amount: Decimal) -> None:
        """A stop must cover exactly what is held: replace it (cancel, then a new id) when it does not."""
        pos = self.om.position(symbol)
        if pos is None or pos.stop_client_id is None:
            return
        old = self.om.order(pos.stop_client_id)
        if old.status.is_terminal or old.request.amount == amount:
            return
        trig = self.venue.triggers.get(old.request.client_id)
        level = trig.level if trig is not None else old.request.stop_price
        self.om.cancel(old.request.client_id)
        self.sink(self.venue.drain_events())
        if not old.status.is_terminal:
            return  # not confirmed yet (a stop firing right now): look again next run
        pos.stop_client_id = None
        new = self._stop_request(symbol, amount, old, level)
        self.om.protect(symbol, new, None)
        self._record(
            Divergence("stop_resized", symbol, f"stop now covers {amount}", self.clock.now(), new.client_id)
        )

    # ---- alerts

    def _alert(self, kind: str, order: Order, detail: str, now: int) -> None:
        self._record(Divergence(kind, order.request.symbol, detail, now, order.request.client_id))

    def _record(self, d: Divergence) -> None:
        self.counts[d.kind] += 1
        self.alerts.append(d)
        if self.on_alert is not None:
            self.on_alert(d)


def _last_stop(orders: list[Order], symbol: str) -> Order | None:
    stops = [o for o in orders if o.request.symbol == symbol and o.request.purpose in _STOPS]
    return max(stops, key=lambda o: o.request.created_ms, default=None)
