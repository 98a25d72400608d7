"""Rolling trade statistics and the Kelly fraction that caps position size once they are meaningful.

Kelly: f = W - (1 - W) / R with W the win rate and R = mean win / mean loss (as positive numbers),
over the last `window` closed trades' PnL fractions (PnL / entry notional). Full Kelly is famously
too aggressive for estimated edges, so the cap uses half of it (`HALF`). Breakeven trades count as
non-wins with no loss size. Without any loss R is unbounded and f = W.
"""

from __future__ import annotations

from collections import deque
from decimal import Context, Decimal, Inexact
from typing import Final

ZERO: Final = Decimal(0)
HALF: Final = Decimal("0.5")

# The window's side sums are kept exact: with `_EXACT` an add or subtract either is exact or raises
# `Inexact` (120 digits hold any sum of the 28-digit fractions trades produce, whose exponents differ
# by far less). Exact sums can be updated as trades come and go, one add and at most one subtract per
# closed trade, where rounded ones would drift from a fresh sum; re-summing a side after every closed
# trade was most of the Kelly fraction's cost. On `Inexact` (values spanning > 120 digits) the side is
# summed again from the window.
_EXACT: Final = Context(prec=120, traps=[Inexact])


class TradeStats:
    def __init__(self, window: int = 200) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._pnl: deque[Decimal] = deque(maxlen=window)
        self._n_wins = 0
        self._n_losses = 0
        # exact sums of the window's wins and of its losses (as positive numbers); None: sum again
        self._win_sum: Decimal | None = ZERO
        self._loss_sum: Decimal | None = ZERO
        self._kelly: Decimal | None = None  # cached until the next record (sizing asks on every entry)

    def record(self, pnl_fraction: Decimal) -> None:
        pnl = self._pnl
        if len(pnl) == pnl.maxlen:  # the oldest trade leaves the window
            oldest = pnl[0]
            if oldest > ZERO:
                self._n_wins -= 1
                self._win_sum = _add(self._win_sum, oldest, -1)
            elif oldest < ZERO:
                self._n_losses -= 1
                self._loss_sum = _add(self._loss_sum, oldest, 1)  # a loss is -pnl: + pnl removes it
        p = Decimal(pnl_fraction)
        pnl.append(p)
        if p > ZERO:
            self._n_wins += 1
            self._win_sum = _add(self._win_sum, p, 1)
        elif p < ZERO:
            self._n_losses += 1
            self._loss_sum = _add(self._loss_sum, p, -1)
        self._kelly = None

    def __len__(self) -> int:
        return len(self._pnl)

    def kelly(self) -> Decimal | None:
        """Full Kelly fraction (may be negative: no edge); None without trades."""
        if self._kelly is None:
            self._kelly = self._compute()
        return self._kelly

    def _compute(self) -> Decimal | None:
        n = len(self._pnl)
        if not n:
            return None
        n_wins, n_losses = self._n_wins, self._n_losses
        w = Decimal(n_wins) / n
        if not n_wins:
            return Decimal(-1)
        if not n_losses:
            return w
        win_sum, loss_sum = self._win_sum, self._loss_sum
        if win_sum is None:
            win_sum, exact = _side_sum([p for p in self._pnl if p > ZERO], 1)
            self._win_sum = win_sum if exact else None  # a rounded sum must not be updated as exact
        if loss_sum is None:
            loss_sum, exact = _side_sum([p for p in self._pnl if p < ZERO], -1)
            self._loss_sum = loss_sum if exact else None
        ratio = (win_sum / n_wins) / (loss_sum / n_losses)  # rounded here, once, from the exact sums
        return w - (1 - w) / ratio

    def half_kelly(self) -> Decimal | None:
        k = self.kelly()
        return None if k is None else k * HALF


def _add(total: Decimal | None, x: Decimal, sign: int) -> Decimal | None:
    """`total + sign * x` exactly (no rounding anywhere, negation included), or None (sum again) when
    `total` is unknown or the result would round."""
    if total is None:
        return None
    try:
        return _EXACT.add(total, x) if sign > 0 else _EXACT.subtract(total, x)
    except Inexact:
        return None


def _side_sum(values: list[Decimal], sign: int) -> tuple[Decimal, bool]:
    """(sum of `sign * v`, True) exactly, or (the plain rounding sum, False) when it does not fit."""
    total: Decimal | None = ZERO
    for v in values:
        total = _add(total, v, sign)
        if total is None:
            return sum((v if sign > 0 else -v for v in values), ZERO), False
    assert total is not None
    return total, True
