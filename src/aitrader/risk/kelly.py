"""Rolling trade statistics and the Kelly fraction that caps position size once they are meaningful.

Kelly: f = W - (1 - W) / R with W the win rate and R = mean win / mean loss (as positive numbers),
over the last `window` closed trades' PnL fractions (PnL / entry notional). Full Kelly is famously
too aggressive for estimated edges, so the cap uses half of it (`HALF`). Breakeven trades count as
non-wins with no loss size. Without any loss R is unbounded and f = W.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

ZERO = Decimal(0)
HALF = Decimal("0.5")


class TradeStats:
    def __init__(self, window: int = 200) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._pnl: deque[Decimal] = deque(maxlen=window)
        # the window's wins and its losses (as positive numbers), each in the order recorded: what
        # filtering `_pnl` would give, kept as trades come and go, because the Kelly fraction is
        # recomputed after every closed trade and filtering the whole window each time was most of it
        self._wins: deque[Decimal] = deque()
        self._losses: deque[Decimal] = deque()
        self._kelly: Decimal | None = None  # cached until the next record (sizing asks on every entry)

    def record(self, pnl_fraction: Decimal) -> None:
        pnl = self._pnl
        if len(pnl) == pnl.maxlen:  # the oldest trade leaves the window: it is the first of its kind
            oldest = pnl[0]
            if oldest > ZERO:
                self._wins.popleft()
            elif oldest < ZERO:
                self._losses.popleft()
        p = Decimal(pnl_fraction)
        pnl.append(p)
        if p > ZERO:
            self._wins.append(p)
        elif p < ZERO:
            self._losses.append(-p)
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
        wins, losses = self._wins, self._losses
        w = Decimal(len(wins)) / n
        if not wins:
            return Decimal(-1)
        if not losses:
            return w
        ratio = (sum(wins, ZERO) / len(wins)) / (sum(losses, ZERO) / len(losses))
        return w - (1 - w) / ratio

    def half_kelly(self) -> Decimal | None:
        k = self.kelly()
        return None if k is None else k * HALF
