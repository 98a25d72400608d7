"""EventInbox: a `Venue` wrapper through which events found outside the venue's stream reach the engine.

Why: the live reconciler adopts what happened to our orders while nobody listened (a lost
acknowledgement, fills during a restart) by producing venue events. Those must travel the same way
as every other venue event - through the engine's pump, so the ledger, the trade recorder and the
protective orders see them - not straight into the OrderManager. `inject` queues them; the engine
drains them before the venue's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aitrader.core.candles import Candle
from aitrader.core.orders import OrderRequest
from aitrader.core.ports import Venue, VenueEvent


class EventInbox:
    def __init__(self, inner: Venue) -> None:
        self.inner = inner
        self._inbox: list[VenueEvent] = []

    def inject(self, events: Iterable[VenueEvent]) -> None:
        self._inbox.extend(events)

    def submit(self, request: OrderRequest) -> None:
        self.inner.submit(request)

    def cancel(self, client_id: str) -> None:
        self.inner.cancel(client_id)

    def on_candle(self, symbol: str, candle: Candle) -> None:
        self.inner.on_candle(symbol, candle)

    def drain_events(self) -> list[VenueEvent]:
        out, self._inbox = self._inbox, []
        return out + self.inner.drain_events()

    def balances(self) -> dict[str, Decimal]:
        return self.inner.balances()

    def __getattr__(self, name: str) -> Any:  # stop_level, order, restore, close... of the inner venue
        return getattr(self.inner, name)
