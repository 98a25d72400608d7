"""The orders an entry gate hands out: the market entry and the protective exits of a filled entry.

Why one place: the risk manager and the fixed-stake sizer of reference runs size entries differently,
but what they hand to execution is the same order shapes with ids from the gate's shared generator.
Rounding of the exits (stop up to the tick, so the loss never exceeds the plan; take to the nearest)
must not drift between live and reference runs, so both inherit it from `GateOrders`.
"""

from __future__ import annotations

from decimal import Decimal

from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import (
    BUY,
    ENTRY,
    LIMIT,
    MARKET,
    SELL,
    STOP_LOSS,
    STOP_MARKET,
    TAKE_PROFIT,
    TRAILING_STOP,
    OrderPurpose,
    OrderRequest,
    OrderType,
    Side,
)
from aitrader.venues.markets import MarketRules


class GateOrders:
    """Mixin for `engine.ports.EntryGate` implementations; needs only `self.ids`."""

    ids: ClientIdGenerator

    def _order(
        self,
        symbol: str,
        side: Side,
        type_: OrderType,
        amount: Decimal,
        purpose: OrderPurpose,
        now_ms: int,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        reduce_only: bool = False,
        trail: Decimal | None = None,
        strategy: str = "",
    ) -> OrderRequest:
        # positional, in field order (client_id, symbol, side, type, amount, price, stop_price, purpose,
        # created_ms, strategy, reduce_only, trail): three orders per entry, keywords cost ~40 ns each
        return OrderRequest(
            self.ids.next(symbol, now_ms),
            symbol,
            side,
            type_,
            amount,
            price,
            stop_price,
            purpose,
            now_ms,
            strategy,
            reduce_only,
            trail,
        )

    def entry_order(self, symbol: str, amount: Decimal, now_ms: int, strategy: str = "") -> OrderRequest:
        """A market buy of `amount` (spot, long-only entries)."""
        return self._order(symbol, BUY, MARKET, amount, ENTRY, now_ms, strategy=strategy)

    def protective_orders(
        self,
        symbol: str,
        amount: Decimal,
        stop: Decimal | None,
        take: Decimal | None,
        rules: MarketRules,
        now_ms: int,
        trail: Decimal | None = None,
    ) -> list[OrderRequest]:
        """Reduce-only stop-loss (trailing when `trail` is given) and take-profit for a filled entry.

        The stop rounds up to the tick (the loss never exceeds the plan), the take to the nearest.
        The stop's id is drawn first, so ids stay in the order they always had.
        """
        out = []
        if stop is not None:
            purpose = TRAILING_STOP if trail else STOP_LOSS
            out.append(
                self._order(
                    symbol, SELL, STOP_MARKET, amount, purpose, now_ms,
                    stop_price=rules.round_price(stop, "up"), reduce_only=True, trail=trail,
                )
            )
        if take is not None:
            out.append(
                self._order(
                    symbol, SELL, LIMIT, amount, TAKE_PROFIT, now_ms,
                    price=rules.round_price(take), reduce_only=True,
                )
            )
        return out
