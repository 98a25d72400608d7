"""The replay clock: simulated time that runs `speed` times faster than the wall clock.

Simulated ms per real ms: speed 60 plays an hour of 1m candles in a minute; speed 0 stops the clock,
so tests move it only with `advance()` and every run is the same.
"""

from __future__ import annotations

import time


class ReplayClock:
    def __init__(self, start_ms: int, speed: float = 0.0) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._base_ms = float(start_ms)
        self._speed = speed
        self._real0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> int:
        """Current simulated time, epoch ms UTC."""
        return int(self._base_ms + (time.monotonic() - self._real0) * 1000.0 * self._speed)

    def _rebase(self) -> None:
        self._base_ms = float(self.now())
        self._real0 = time.monotonic()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._rebase()
        self._speed = speed

    def advance(self, ms: int) -> int:
        """Jump forward by `ms` simulated milliseconds; returns the new time."""
        if ms < 0:
            raise ValueError("the replay clock never goes back")
        self._rebase()
        self._base_ms += ms
        return self.now()

    def advance_to(self, ts_ms: int) -> int:
        """Jump to `ts_ms` (no-op if that is already past)."""
        return self.advance(max(0, ts_ms - self.now()))
