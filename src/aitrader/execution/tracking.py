"""Turn an exchange's unordered, duplicated reports into a clean event stream for the OrderManager.

Why: a live venue reports the same order from three places (the create response, the WebSocket
private stream, REST polls), messages arrive twice or out of order, and WebSocket gaps lose some.
The OrderManager's state machine is strict (a fill after CANCELLED is an illegal transition), so
this tracker is where the mess is sorted out, in one thread-safe place:

- fills are de-duplicated by trade id and are the only source of quantities;
- "acknowledged" (OPEN) is emitted once, and only before any fill (after a fill it says nothing);
- a terminal status (filled / cancelled / expired / rejected) is *held* until the fills we emitted
  add up to what the venue says was executed; `needs_fills` tells the venue to fetch the missing
  ones by REST, so a terminal update can never be followed by a fill.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal

from aitrader.core.orders import Fill, OrderRequest, OrderStatus
from aitrader.core.ports import OrderUpdate, VenueEvent

_ZERO = Decimal(0)


@dataclass(slots=True)
class RemoteView:
    """What we know of one of our orders on the venue."""

    request: OrderRequest
    venue_id: str | None = None
    acked: bool = False
    fills_qty: Decimal = _ZERO
    remote_filled: Decimal = _ZERO
    remote_terminal: OrderStatus | None = None
    terminal_sent: bool = False
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.terminal_sent

    @property
    def missing_fills(self) -> bool:
        return self.remote_filled > self.fills_qty


class OrderTracker:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._views: dict[str, RemoteView] = {}
        self._by_venue: dict[str, str] = {}
        self._fill_ids: set[str] = set()
        self._events: list[VenueEvent] = []
        self.anomalies: list[str] = []

    # ---- registration

    def track(self, request: OrderRequest) -> RemoteView:
        with self._lock:
            view = self._views.get(request.client_id)
            if view is None:
                view = self._views[request.client_id] = RemoteView(request)
            return view

    def view(self, client_id: str) -> RemoteView | None:
        return self._views.get(client_id)

    def client_for_venue(self, venue_id: str) -> str | None:
        return self._by_venue.get(venue_id)

    def pending(self) -> list[RemoteView]:
        """Orders whose final state we have not reported yet."""
        with self._lock:
            return [v for v in self._views.values() if not v.terminal_sent]

    def seen_fill(self, fill_id: str) -> bool:
        return fill_id in self._fill_ids

    # ---- reports

    def ack(self, client_id: str, venue_id: str | None, ts: int) -> None:
        """The order rests (on the venue, or as a local trigger when `venue_id` is None)."""
        with self._lock:
            view = self._views[client_id]
            self._set_venue_id(view, venue_id)
            if not view.acked and view.fills_qty == _ZERO and not view.terminal_sent:
                view.acked = True
                self._events.append(OrderUpdate(client_id, OrderStatus.OPEN, ts, venue_id=venue_id))

    def report(
        self,
        client_id: str,
        venue_id: str | None,
        status: OrderStatus,
        filled: Decimal,
        ts: int,
        reason: str = "",
    ) -> None:
        """The venue's view of the order: `status` and the cumulative executed amount."""
        with self._lock:
            view = self._views[client_id]
            self._set_venue_id(view, venue_id)
            if status is OrderStatus.FILLED:
                filled = view.request.amount
            view.remote_filled = max(view.remote_filled, filled)
            if status.is_terminal:
                if view.remote_terminal is None:
                    view.remote_terminal = status
                    view.reason = reason
                self._maybe_finish(view, ts)
            else:
                self.ack(client_id, venue_id, ts)

    def fill(self, fill: Fill) -> bool:
        """A trade of ours; False when seen before (or impossible, which is recorded as an anomaly)."""
        with self._lock:
            if fill.fill_id in self._fill_ids:
                return False
            view = self._views.get(fill.client_id)
            if view is None or view.terminal_sent:
                self.anomalies.append(f"fill {fill.fill_id} for {fill.client_id} after its final state")
                return False
            if view.fills_qty + fill.amount > view.request.amount:
                self.anomalies.append(f"fill {fill.fill_id} overfills {fill.client_id}")
                return False
            self._fill_ids.add(fill.fill_id)
            view.fills_qty += fill.amount
            view.remote_filled = max(view.remote_filled, view.fills_qty)
            view.acked = True
            self._events.append(fill)
            self._maybe_finish(view, fill.ts)
            return True

    def finish_locally(self, client_id: str, status: OrderStatus, ts: int, reason: str) -> None:
        """A final state decided here: a refused submit, a disarmed trigger, an order never placed."""
        self.report(client_id, None, status, _ZERO, ts, reason)

    def drain(self) -> list[VenueEvent]:
        with self._lock:
            out, self._events = self._events, []
            return out

    # ---- internals

    def _set_venue_id(self, view: RemoteView, venue_id: str | None) -> None:
        if venue_id and view.venue_id != venue_id:
            view.venue_id = venue_id
            self._by_venue[venue_id] = view.request.client_id

    def _maybe_finish(self, view: RemoteView, ts: int) -> None:
        status = view.remote_terminal
        if status is None or view.terminal_sent or view.missing_fills:
            return
        if status is OrderStatus.FILLED and view.fills_qty < view.request.amount:
            return
        if status is OrderStatus.REJECTED and view.acked:
            # a resting trigger whose market order was refused: OPEN -> REJECTED is not a transition
            status = OrderStatus.CANCELLED
        view.terminal_sent = True
        self._events.append(
            OrderUpdate(
                view.request.client_id,
                status,
                ts,
                venue_id=view.venue_id,
                filled=view.fills_qty,
                reason=view.reason,
            )
        )
