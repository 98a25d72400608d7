"""OrderManager: the one place that knows which orders we sent, in which state they are and what we hold.

Why a separate module: risk sizes intents and venues execute them, but someone must give every order our
own client id, refuse to send the same id twice (a retried submit must not double a position), apply the
venue's events through the order state machine (`core.orders.ALLOWED_TRANSITIONS`; an illegal transition
is a bug or a confused venue and raises), and keep per-symbol positions together with the protective
stop/take orders that guard them. The live issue adds retries, timeouts and persistence on top.

Quantities come from fills only (deduplicated by `fill_id`), so an `OrderUpdate` that repeats what the
fills already said cannot count anything twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from aitrader.core.clock import Clock
from aitrader.core.errors import OrderError
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import (
    ALLOWED_TRANSITIONS,
    BUY,
    FILLED,
    PARTIALLY_FILLED,
    SELL,
    STOP_LOSS,
    TAKE_PROFIT,
    TERMINAL,
    TRAILING_STOP,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    Side,
)
from aitrader.core.ports import OrderUpdate, Venue, VenueEvent

_ZERO: Final = Decimal(0)
_PROTECTIVE: Final = (STOP_LOSS, TAKE_PROFIT, TRAILING_STOP)


@dataclass(slots=True)
class TrackedPosition:
    """What we hold of one symbol (signed: > 0 long) and the orders that protect it."""

    symbol: str
    amount: Decimal = _ZERO
    avg_price: Decimal = _ZERO
    opened_ms: int = 0
    strategy: str = ""
    entry_client_id: str | None = None
    stop_client_id: str | None = None
    take_client_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.amount != _ZERO

    def protective_ids(self) -> list[str]:
        return [c for c in (self.stop_client_id, self.take_client_id) if c is not None]


class OrderManager:
    """Client ids, idempotent submit, order state machine and positions, for any `Venue`."""

    def __init__(
        self, venue: Venue, clock: Clock, id_prefix: str = "at", ids: ClientIdGenerator | None = None
    ) -> None:
        self._venue = venue
        self._clock = clock
        self._ids = ids or ClientIdGenerator(id_prefix)  # share risk's generator: one id space
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}  # non-terminal orders only, so "what is open" is cheap
        # the same orders by symbol, in the same (submission) order: the engine asks per symbol after
        # every candle, and scanning all open orders for one symbol's was a tenth of an event
        self._open_by_symbol: dict[str, dict[str, Order]] = {}
        self._fill_ids: set[str] = set()
        self._positions: dict[str, TrackedPosition] = {}

    # ---- ids and submission

    def new_client_id(self, symbol: str) -> str:
        """Deterministic ids (`core.ids`: prefix, symbol, now, sequence): a re-run backtest gets the same."""
        return self._ids.next(symbol, self._clock.now())

    def submit(self, request: OrderRequest) -> Order:
        """Send `request` once; a client id we already know returns that order and sends nothing."""
        known = self._orders.get(request.client_id)
        if known is not None:
            return known
        if request.amount <= _ZERO:
            raise OrderError(f"{request.client_id}: amount must be positive, got {request.amount}")
        order = Order(request=request, updated_ms=self._clock.now())
        self._orders[request.client_id] = order
        self._track_open(order)
        self._venue.submit(request)
        return order

    def cancel(self, client_id: str) -> None:
        """Ask the venue to cancel; the state changes only when the venue confirms."""
        order = self.order(client_id)
        if order.status not in TERMINAL:
            self._venue.cancel(client_id)

    # ---- venue events

    def on_events(self, events: Iterable[VenueEvent]) -> list[Fill]:
        """Apply venue events in order; returns the fills that were new (for the ledger)."""
        new_fills: list[Fill] = []
        for ev in events:
            if isinstance(ev, Fill):
                if self.apply_fill(ev):
                    new_fills.append(ev)
            else:
                self.apply_update(ev)
        return new_fills

    def apply_update(self, update: OrderUpdate) -> None:
        order = self.order(update.client_id)
        if update.venue_id is not None:
            order.venue_id = update.venue_id
        if update.reason:
            order.reason = update.reason
        order.updated_ms = update.ts
        if update.status is order.status and update.status is not PARTIALLY_FILLED:
            return  # a repeated acknowledgement: nothing new
        if update.status is PARTIALLY_FILLED and order.status is FILLED:
            return  # a late progress report for an order our fills already completed
        self._transition(order, update.status)

    def apply_fill(self, fill: Fill) -> bool:
        """Record one fill; returns False when it was seen before (events may be replayed)."""
        if fill.fill_id in self._fill_ids:
            return False
        order = self.order(fill.client_id)
        if fill.amount <= _ZERO:
            raise OrderError(
                f"{fill.client_id}: fill {fill.fill_id} has non-positive amount {fill.amount}"
            )
        if fill.side is not order.request.side or fill.symbol != order.request.symbol:
            raise OrderError(
                f"{fill.client_id}: fill {fill.fill_id} does not match the order's side/symbol"
            )
        new_filled = order.filled + fill.amount
        if new_filled > order.request.amount:
            raise OrderError(
                f"{fill.client_id}: fills total {new_filled} exceed the order amount {order.request.amount}"
            )
        self._fill_ids.add(fill.fill_id)
        prev_cost = (order.avg_price or _ZERO) * order.filled
        order.avg_price = (prev_cost + fill.price * fill.amount) / new_filled
        order.filled = new_filled
        order.fees += fill.fee
        order.fills.append(fill)
        order.updated_ms = fill.ts
        target = (
            FILLED if new_filled == order.request.amount else PARTIALLY_FILLED
        )
        if order.status is not target or target is PARTIALLY_FILLED:
            self._transition(order, target)
        self._apply_to_position(order, fill)
        return True

    def _transition(self, order: Order, status: OrderStatus) -> None:
        if status not in ALLOWED_TRANSITIONS[order.status]:
            raise OrderError(
                f"{order.request.client_id}: illegal order transition {order.status.value} -> {status.value}"
            )
        order.status = status
        if status in TERMINAL:
            self._untrack_open(order)

    def _track_open(self, order: Order) -> None:
        req = order.request
        self._open[req.client_id] = order
        self._open_by_symbol.setdefault(req.symbol, {})[req.client_id] = order

    def _untrack_open(self, order: Order) -> None:
        req = order.request
        if self._open.pop(req.client_id, None) is not None:
            book = self._open_by_symbol[req.symbol]
            del book[req.client_id]
            if not book:
                del self._open_by_symbol[req.symbol]

    # ---- positions

    def _apply_to_position(self, order: Order, fill: Fill) -> None:
        req = order.request
        pos = self._positions.get(req.symbol)
        if pos is None:
            pos = self._positions[req.symbol] = TrackedPosition(symbol=req.symbol)
        signed = fill.amount if fill.side is BUY else -fill.amount  # `side.sign`, without the enum property
        before = pos.amount
        after = before + signed
        if before == _ZERO or (before > _ZERO) == (signed > _ZERO):
            # opening or adding: average the entry price
            pos.avg_price = (pos.avg_price * abs(before) + fill.price * fill.amount) / abs(after)
            if before == _ZERO:
                pos.opened_ms = fill.ts
                pos.strategy = req.strategy
                pos.entry_client_id = req.client_id
        elif after != _ZERO and (after > _ZERO) != (before > _ZERO):
            pos.avg_price = fill.price  # flipped through zero: the remainder opened at this price
            pos.opened_ms = fill.ts
            pos.entry_client_id = req.client_id
        pos.amount = after
        if after == _ZERO:
            self._flatten(pos)

    def _flatten(self, pos: TrackedPosition) -> None:
        """A closed position keeps no protective orders: cancel what still rests (one-cancels-other)."""
        for cid in pos.protective_ids():
            if self._orders[cid].status not in TERMINAL:
                self._venue.cancel(cid)
        pos.avg_price = _ZERO
        pos.stop_client_id = pos.take_client_id = pos.entry_client_id = None

    def protect(self, symbol: str, stop: OrderRequest | None, take: OrderRequest | None) -> None:
        """Submit protective orders for the open position of `symbol` and remember them."""
        pos = self._positions.get(symbol)
        if pos is None or not pos.is_open:
            raise OrderError(f"{symbol}: no open position to protect")
        for req in (stop, take):
            if req is None:
                continue
            if req.purpose not in _PROTECTIVE:
                raise OrderError(f"{req.client_id}: purpose {req.purpose.value} is not protective")
            self.submit(req)
            if req.purpose is TAKE_PROFIT:
                pos.take_client_id = req.client_id
            else:
                pos.stop_client_id = req.client_id

    # ---- restart and reconciliation (live issue)

    def restore(self, orders: Iterable[Order]) -> None:
        """After a restart: take back our orders (with their fills, e.g. from storage).

        Positions are rebuilt by replaying every fill in time order, so a position held for months is
        restored from its own entry fills, not from whatever window an exchange's history still serves.
        Protective orders still open are re-linked to their position.
        """
        fresh: list[tuple[Order, Order]] = []
        for old in orders:
            cid = old.request.client_id
            if cid in self._orders:
                continue
            new = Order(
                request=old.request, venue_id=old.venue_id, updated_ms=old.updated_ms, reason=old.reason
            )
            self._orders[cid] = new
            self._track_open(new)
            fresh.append((old, new))
        fills = sorted((f for old, _ in fresh for f in old.fills), key=lambda f: (f.ts, f.fill_id))
        for f in fills:
            self.apply_fill(f)
        for old, new in fresh:
            if old.status is not new.status and old.status in ALLOWED_TRANSITIONS[new.status]:
                self._transition(new, old.status)
            req = new.request
            pos = self._positions.get(req.symbol)
            if req.purpose in _PROTECTIVE and new.status not in TERMINAL and pos is not None and pos.is_open:
                if req.purpose is TAKE_PROFIT:
                    pos.take_client_id = req.client_id
                else:
                    pos.stop_client_id = req.client_id

    def adjust_position(self, symbol: str, amount: Decimal, ts: int) -> TrackedPosition | None:
        """Set what we hold of `symbol` to what the venue says (the reconciler found it changed outside
        of our orders, e.g. closed by hand). Flat means: its protective orders are cancelled, never
        re-placed, and nothing is sent to close it again. Returns the position after the change."""
        pos = self._positions.get(symbol)
        if pos is None:
            pos = self._positions[symbol] = TrackedPosition(symbol=symbol, opened_ms=ts)
        pos.amount = amount
        if amount == _ZERO:
            self._flatten(pos)
        return self.position(symbol)

    # ---- queries

    def order(self, client_id: str) -> Order:
        try:
            return self._orders[client_id]
        except KeyError:
            raise OrderError(
                f"unknown order {client_id!r}: not submitted through this OrderManager"
            ) from None

    def orders(self) -> list[Order]:
        return list(self._orders.values())

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        if symbol is None:
            return list(self._open.values())
        book = self._open_by_symbol.get(symbol)
        return list(book.values()) if book else []

    def has_open_orders(self, symbol: str) -> bool:
        return symbol in self._open_by_symbol

    def position(self, symbol: str) -> TrackedPosition | None:
        pos = self._positions.get(symbol)
        return pos if pos is not None and pos.is_open else None

    def positions(self) -> dict[str, TrackedPosition]:
        return {s: p for s, p in self._positions.items() if p.is_open}

    def exit_side(self, symbol: str) -> Side:
        pos = self.position(symbol)
        if pos is None:
            raise OrderError(f"{symbol}: no open position")
        return SELL if pos.amount > _ZERO else BUY
