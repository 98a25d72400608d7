"""Persistence glue: orders and fills of the OrderManager written to storage, and read back at start.

Why: after a crash or restart the live engine must know every order it sent (so a lost
acknowledgement is adopted by client id, not re-sent) and every fill (so positions, including ones
held for months, are rebuilt exactly). Writes are idempotent in storage (orders by client id, fills
by fill id), so replaying events is harmless. This writes synchronously in one transaction per batch
of events; the engine may route the same calls through the storage writer task instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import Engine

from aitrader.core.orders import Fill, Order
from aitrader.core.ports import VenueEvent
from aitrader.execution.order_manager import OrderManager
from aitrader.storage.repository import MAX_PAGE, fill_from_row, order_from_row, tenant_scope

T = TypeVar("T")


class OrderJournal:
    def __init__(self, engine: Engine, tenant_id: str) -> None:
        self._engine = engine
        self._tenant = tenant_id

    def record(
        self, om: OrderManager, events: Iterable[VenueEvent] = (), orders: Iterable[Order] = ()
    ) -> None:
        """Write the orders these events touched and their new fills, plus `orders` (e.g. just submitted)
        with all their fills."""
        touched: dict[str, Order] = {o.request.client_id: o for o in orders}
        fills: list[Fill] = [f for o in touched.values() for f in o.fills]
        for ev in events:
            if isinstance(ev, Fill):
                fills.append(ev)
            touched[ev.client_id] = om.order(ev.client_id)
        if not touched and not fills:
            return
        with tenant_scope(self._engine, self._tenant, write=True) as ts:
            for o in touched.values():
                ts.upsert_order(o)
            for f in fills:
                ts.insert_fill(f)

    def load(self) -> list[Order]:
        """Every stored order with its fills (oldest first), ready for `OrderManager.restore`."""
        with tenant_scope(self._engine, self._tenant) as ts:
            rows = _all(lambda off: ts.list_orders(limit=MAX_PAGE, offset=off))
            orders = {r.client_id: order_from_row(r) for r in rows}
            for fr in _all(lambda off: ts.list_fills(limit=MAX_PAGE, offset=off)):
                order = orders.get(fr.client_id)
                if order is not None:
                    order.fills.append(fill_from_row(fr))
        for o in orders.values():
            o.fills.sort(key=lambda f: (f.ts, f.fill_id))
        return sorted(orders.values(), key=lambda o: o.request.created_ms)


def _all(page: Callable[[int], list[T]]) -> list[T]:
    out: list[T] = []
    offset = 0
    while True:
        got = page(offset)
        out.extend(got)
        if len(got) < MAX_PAGE:
            return out
        offset += MAX_PAGE
