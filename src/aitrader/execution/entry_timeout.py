"""Limit entries: their price, their timeout and their replacement (`execution.entry_order: limit`).

Why this shape: a limit entry that has not filled in time is cancelled and the *unfilled remainder*
is sent again under a new client id at a fresh price. The new order goes out only after the venue
confirmed the cancel, because until then the old order may still fill: resubmitting earlier could
buy more than was sized. Fills that arrive between the cancel request and its confirmation are
accounted for, since the remainder is computed from the order's fills at confirmation time.
After `max_replaces` replacements of one entry (or when `reprice` says None) the entry is let go.
Venue-agnostic: it works through the OrderManager only, so backtest, paper and live share it; the
engine calls `check()` on every candle and between candles (live venues confirm cancels later).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from aitrader.config import ExecutionConfig
from aitrader.core.clock import Clock
from aitrader.core.orders import Order, OrderPurpose, OrderRequest, OrderStatus, OrderType
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.markets import MarketRules

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class LimitEntryPolicy:
    """Entries rest as limit buys `offset_bps` below the last close, for `timeout_ms` each, and
    are re-priced at most `max_replaces` times before the entry is dropped."""

    timeout_ms: int
    offset_bps: Decimal = Decimal(0)
    max_replaces: int = 2
    venue_expiry_ms: int | None = None  # venue-side expiry this long after the timeout; None: none

    def expire_ms(self, created_ms: int) -> int | None:
        """When the venue itself should expire an entry sent at `created_ms` (None: never)."""
        if self.venue_expiry_ms is None:
            return None
        return created_ms + self.timeout_ms + self.venue_expiry_ms

    def price(self, last_close: Decimal, rules: MarketRules) -> Decimal:
        """The limit for a buy: below the last close by the offset, rounded down to the tick (never
        pays more than planned)."""
        return rules.round_price(last_close * (1 - self.offset_bps / BPS), "down")


@dataclass(frozen=True, slots=True)
class Expired:
    """A timed-out entry whose cancel the venue confirmed; `new` is its replacement (None: let go)."""

    old: Order
    new: OrderRequest | None


class LimitEntryReplacer:
    """Call `check()` regularly (each candle, each loop tick); `reprice(request, remaining)` gives the
    new limit price for a remainder, or None to let the entry go."""

    def __init__(
        self,
        om: OrderManager,
        clock: Clock,
        timeout_ms: int,
        reprice: Callable[[OrderRequest, Decimal], Decimal | None],
        max_replaces: int | None = None,
    ) -> None:
        self.om = om
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.reprice = reprice
        self.max_replaces = max_replaces
        self.replaced: dict[str, str] = {}  # old client id -> new client id
        self._generation: dict[str, int] = {}  # client id -> how many replacements led to it
        self._cancelling: dict[str, Order] = {}
        self._abandoned: set[str] = set()  # cancelling, but not to be replaced (`abandon`)

    def cancelling(self, client_id: str) -> bool:
        """True while this entry's timeout cancel is unresolved (its fate is the replacer's)."""
        return client_id in self._cancelling

    def abandon(self, client_id: str) -> None:
        """An entry whose timeout cancel is under way must not be replaced (e.g. the signal turned)."""
        if client_id in self._cancelling:
            self._abandoned.add(client_id)

    def replacements(self) -> dict[str, int]:
        """How many replacements led to each entry still working (persisted, so that a restart does
        not grant an entry a fresh set of `max_replaces`). Forgets entries that ended otherwise."""
        working = {o.request.client_id for o in self.om.open_orders()} | set(self._cancelling)
        for cid in [c for c in self._generation if c not in working]:
            del self._generation[cid]  # filled (or otherwise over) without a timeout cancel
        return dict(self._generation)

    def restore_replacements(self, counts: Mapping[str, int]) -> None:
        """After a restart: the counts `replacements` saved, for the entries that are still open."""
        working = {o.request.client_id for o in self.om.open_orders()}
        for cid, n in counts.items():
            if cid in working and int(n) > 0:
                self._generation[cid] = int(n)

    def check(self, symbol: str | None = None) -> list[Expired]:
        """Cancel entries (of `symbol`, or all) past their timeout; resolve every entry whose cancel
        was confirmed."""
        now = self.clock.now()
        for o in self.om.open_orders(symbol):
            r = o.request
            if (
                r.type is OrderType.LIMIT
                and r.purpose is OrderPurpose.ENTRY
                and r.client_id not in self._cancelling
                and now - r.created_ms >= self.timeout_ms
            ):
                self._cancelling[r.client_id] = o
                self.om.cancel(r.client_id)
        done: list[Expired] = []
        for cid, o in list(self._cancelling.items()):
            if not o.status.is_terminal:
                continue  # not confirmed: the old order may still fill
            del self._cancelling[cid]
            done.append(Expired(o, self._replacement(o, now)))
        return done

    def _replacement(self, o: Order, now: int) -> OrderRequest | None:
        cid = o.request.client_id
        remaining = o.request.amount - o.filled
        generation = self._generation.pop(cid, 0)
        if cid in self._abandoned:
            self._abandoned.discard(cid)
            return None
        if o.status not in (OrderStatus.CANCELLED, OrderStatus.EXPIRED) or remaining <= 0:
            return None
        if self.max_replaces is not None and generation >= self.max_replaces:
            return None
        price = self.reprice(o.request, remaining)
        if price is None:
            return None
        old_expiry = o.request.expire_ms
        new = replace(
            o.request,
            client_id=self.om.new_client_id(o.request.symbol),
            amount=remaining,
            price=price,
            created_ms=now,
            # the same venue-side lifetime as the order it replaces, counted from now
            expire_ms=None if old_expiry is None else old_expiry + now - o.request.created_ms,
        )
        self.om.submit(new)
        self.replaced[cid] = new.client_id
        self._generation[new.client_id] = generation + 1
        return new



def limit_entry_policy(ex: ExecutionConfig) -> LimitEntryPolicy | None:
    """The policy the `execution` config section asks for; None for market entries."""
    if ex.entry_order != "limit":
        return None
    return LimitEntryPolicy(
        ex.limit_entry_timeout_ms,
        ex.entry_limit_offset_bps,
        ex.limit_entry_max_replaces,
        ex.limit_entry_venue_expiry_ms,
    )
