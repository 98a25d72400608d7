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
        # `sum(self._wins, ZERO)` / `sum(self._losses, ZERO)` while known, None once their oldest left.
        # A trade appended to a side extends its sum by one more add: the same adds in the same order
        # as summing the side again, so the same Decimal. Re-summing both sides after every closed
        # trade was most of the Kelly fraction; now only the side that lost its oldest trade is.
        self._win_sum: Decimal | None = ZERO
        self._loss_sum: Decimal | None = ZERO
        self._kelly: Decimal | None = None  # cached until the next record (sizing asks on every entry)

    def record(self, pnl_fraction: Decimal) -> None:
        pnl = self._pnl
        if len(pnl) == pnl.maxlen:  # the oldest trade leaves the window: it is the first of its kind
            oldest = pnl[0]
            if oldest > ZERO:
                self._wins.popleft()
                self._win_sum = None
            elif oldest < ZERO:
                self._losses.popleft()
                self._loss_sum = None
        p = Decimal(pnl_fraction)
        pnl.append(p)
        if p > ZERO:
            self._wins.append(p)
            if self._win_sum is not None:
                self._win_sum += p
        elif p < ZERO:
            loss = -p
            self._losses.append(loss)
            if self._loss_sum is not None:
                self._loss_sum += loss
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
        win_sum, loss_sum = self._win_sum, self._loss_sum
        if win_sum is None:
            win_sum = self._win_sum = sum(wins, ZERO)
        if loss_sum is None:
            loss_sum = self._loss_sum = sum(losses, ZERO)
        ratio = (win_sum / len(wins)) / (loss_sum / len(losses))
        return w - (1 - w) / ratio

    def half_kelly(self) -> Decimal | None:
        k = self.kelly()
        return None if k is None else k * HALF
