"""Limit-entry timeout and replace (`execution.limit_entry_timeout_ms`).

Why this shape: a limit entry that has not filled in time is cancelled and the *unfilled remainder*
is sent again under a new client id at a fresh price. The new order goes out only after the venue
confirmed the cancel, because until then the old order may still fill: resubmitting earlier could
buy more than was sized. Fills that arrive between the cancel request and its confirmation are
accounted for, since the remainder is computed from the order's fills at confirmation time.
Venue-agnostic: it works through the OrderManager only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from aitrader.core.clock import Clock
from aitrader.core.orders import Order, OrderPurpose, OrderRequest, OrderStatus, OrderType
from aitrader.execution.order_manager import OrderManager


class LimitEntryReplacer:
    """Call `check()` regularly (each candle, each loop tick); `reprice(request)` gives the new limit
    price for a remainder, or None to let the entry go."""

    def __init__(
        self,
        om: OrderManager,
        clock: Clock,
        timeout_ms: int,
        reprice: Callable[[OrderRequest, Decimal], Decimal | None],
    ) -> None:
        self.om = om
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.reprice = reprice
        self.replaced: dict[str, str] = {}  # old client id -> new client id
        self._cancelling: dict[str, Order] = {}

    def check(self) -> list[OrderRequest]:
        now = self.clock.now()
        for o in self.om.open_orders():
            r = o.request
            if (
                r.type is OrderType.LIMIT
                and r.purpose is OrderPurpose.ENTRY
                and r.client_id not in self._cancelling
                and now - r.created_ms >= self.timeout_ms
            ):
                self._cancelling[r.client_id] = o
                self.om.cancel(r.client_id)
        sent: list[OrderRequest] = []
        for cid, o in list(self._cancelling.items()):
            if not o.status.is_terminal:
                continue  # not confirmed: the old order may still fill
            del self._cancelling[cid]
            remaining = o.request.amount - o.filled
            if o.status not in (OrderStatus.CANCELLED, OrderStatus.EXPIRED) or remaining <= 0:
                continue
            price = self.reprice(o.request, remaining)
            if price is None:
                continue
            new = replace(
                o.request,
                client_id=self.om.new_client_id(o.request.symbol),
                amount=remaining,
                price=price,
                created_ms=now,
            )
            self.om.submit(new)
            self.replaced[cid] = new.client_id
            sent.append(new)
        return sent
