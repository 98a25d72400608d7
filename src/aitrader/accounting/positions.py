"""Spot long positions with an exact cost basis.

We keep the *total cost* of the held amount rather than the average price: the average is derived
(`cost / amount`), and every sale removes a proportional slice of cost that is booked against the
proceeds as realized PnL. Because the same removed slice appears on both sides, the identity
`equity == deposits + realized - fees + unrealized` holds exactly in Decimal, whatever the
rounding of that one division (kept short, see COST_QUANTUM).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from aitrader.core.records import reduce_fields

ZERO: Final = Decimal(0)
# The cost slice of a partial sale is rounded to this (far below any currency's precision): a raw
# 28-digit quotient would make later sums round, and the PnL identity would stop being exact.
COST_QUANTUM: Final = Decimal("1E-12")


@dataclass(slots=True, init=False)
class Position:
    """Amount of `base` held through `symbol`, its cost in `quote`, and PnL booked so far.

    `realized_pnl` is gross (sale proceeds minus cost removed); fees are kept apart in `fees`
    (quote value: quote fees as paid, base fees at the cost basis of the base they consumed).
    It writes its own `__init__`: see core.orders for why.
    """

    symbol: str
    base: str
    quote: str
    amount: Decimal = ZERO
    cost: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    opened_ms: int | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        symbol: str,
        base: str,
        quote: str,
        amount: Decimal = ZERO,
        cost: Decimal = ZERO,
        realized_pnl: Decimal = ZERO,
        fees: Decimal = ZERO,
        opened_ms: int | None = None,
    ) -> None:
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.amount = amount
        self.cost = cost
        self.realized_pnl = realized_pnl
        self.fees = fees
        self.opened_ms = opened_ms

    @property
    def avg_entry(self) -> Decimal:
        """Average entry price of what is still held (0 when flat)."""
        return self.cost / self.amount if self.amount else ZERO

    @property
    def is_open(self) -> bool:
        return self.amount > ZERO

    def unrealized_pnl(self, mark: Decimal) -> Decimal:
        return self.amount * mark - self.cost

    def add(self, amount: Decimal, cost: Decimal, ts: int) -> None:
        if not self.amount:
            self.opened_ms = ts
        self.amount += amount
        self.cost += cost

    def remove(self, amount: Decimal) -> Decimal:
        """Take `amount` out; returns the slice of cost it carried (all of it when closing)."""
        if amount >= self.amount:
            removed = self.cost
            self.amount = ZERO
            self.cost = ZERO
            self.opened_ms = None
            return removed
        removed = min((self.cost * amount / self.amount).quantize(COST_QUANTUM), self.cost)
        self.amount -= amount
        self.cost -= removed
        return removed
