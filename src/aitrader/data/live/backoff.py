"""Exponential backoff with jitter between reconnection attempts.

Why jitter: after an exchange outage every client reconnects at once; spreading the retries over
[(1 - jitter) * d, d] keeps us from hammering it in lockstep (and from being rate limited for it).
The attempt counter resets once a connection streams again, so a flaky but working link does not
creep toward the cap.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self,
        base_s: float = 0.5,
        cap_s: float = 30.0,
        factor: float = 2.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if base_s <= 0 or cap_s < base_s or factor < 1 or not 0 <= jitter <= 1:
            raise ValueError("backoff needs 0 < base <= cap, factor >= 1, 0 <= jitter <= 1")
        self.base_s, self.cap_s, self.factor, self.jitter = base_s, cap_s, factor, jitter
        self._rng = rng or random.Random()
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        """The delay before jitter for the `attempt`-th retry (0-based)."""
        return float(min(self.cap_s, self.base_s * self.factor**attempt))

    def next_delay(self) -> float:
        d = self.ceiling(self.attempt)
        self.attempt += 1
        return d * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self.attempt = 0
