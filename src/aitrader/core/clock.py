"""Clocks: the only source of "now" for the engine.

Backtest plugs a `SimulatedClock` that the historical feed advances; paper and live plug a
`WallClock`. Engine code asks the clock and never the OS, so it cannot tell the modes apart.
"""

from __future__ import annotations

from typing import Protocol

from aitrader.core.time import now_ms


class Clock(Protocol):
    def now(self) -> int:
        """Current time as epoch ms UTC."""
        ...


class WallClock:
    """Real time."""

    def now(self) -> int:
        return now_ms()


class SimulatedClock:
    """Time that only moves when the data feed says so; never goes backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms

    def now(self) -> int:
        return self._now

    def advance_to(self, ts_ms: int) -> None:
        if ts_ms < self._now:
            raise ValueError(f"simulated clock cannot go back from {self._now} to {ts_ms}")
        self._now = ts_ms
