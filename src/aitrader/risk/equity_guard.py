"""Equity watch: UTC-day start for the daily loss limit and the running peak for the drawdown switch.

Fed by equity snapshots (`update`). The daily limit only blocks new entries until the next UTC day;
the drawdown kill switch, once tripped, stays tripped until someone resets it on purpose (and the
engine should flatten), because a strategy that lost that much needs a human look.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from aitrader.core.time import DAY_MS, ms_to_iso

ZERO: Final = Decimal(0)


class EquityGuard:
    def __init__(self, daily_loss_limit: Decimal, max_drawdown: Decimal) -> None:
        self.daily_loss_limit = daily_loss_limit
        self.max_drawdown = max_drawdown
        self.peak: Decimal | None = None
        self.equity: Decimal | None = None
        self.day: int | None = None
        self.day_start: Decimal | None = None
        self.killed = False
        self.kill_reason = ""

    def update(self, ts: int, equity: Decimal) -> None:
        day = ts // DAY_MS
        if day != self.day:
            self.day, self.day_start = day, equity
        self.equity = equity
        if self.peak is None or equity > self.peak:
            self.peak = equity
        dd = self.drawdown()
        if not self.killed and dd >= self.max_drawdown:
            self.kill(
                f"max drawdown reached: equity {equity} is {dd:.2%} below the peak {self.peak} "
                f"(limit {self.max_drawdown:.2%}) at {ms_to_iso(ts)}"
            )

    def drawdown(self) -> Decimal:
        if not self.peak or self.equity is None or self.peak <= 0:
            return ZERO
        return (self.peak - self.equity) / self.peak

    def daily_loss(self) -> Decimal:
        if not self.day_start or self.equity is None or self.day_start <= 0:
            return ZERO
        return (self.day_start - self.equity) / self.day_start

    def daily_limit_hit(self) -> bool:
        return self.daily_loss() >= self.daily_loss_limit

    def kill(self, reason: str) -> None:
        self.killed = True
        self.kill_reason = reason

    def reset(self) -> None:
        """Re-arm the switch; the peak restarts at the current equity so it does not re-trip at once."""
        self.killed = False
        self.kill_reason = ""
        self.peak = self.equity
