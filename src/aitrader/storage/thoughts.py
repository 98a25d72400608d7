"""Rate limit for decision "thoughts" on their way to storage.

Decisions are the chattiest thing we persist (one per pair per bar, more with fast timeframes or a
misbehaving strategy). The engine must never block on them, so `offer()` is synchronous and O(1):
each symbol gets a token bucket (`per_second` sustained, `burst` at once); admitted thoughts go into
one bounded buffer that `forward()` empties into the storage writer. Over the rate, or with the
buffer full (storage slower than the engine), the thought is dropped and counted per symbol and
reason, so the loss is visible on the metrics endpoint instead of silent.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from dataclasses import dataclass

from aitrader.core.clock import Clock, WallClock
from aitrader.core.decisions import Decision
from aitrader.storage.repository import TenantSession
from aitrader.storage.writer import StorageWriter, WriteFn


@dataclass(slots=True)
class Thought:
    tenant_id: str
    decision: Decision
    model_version: str | None = None
    model_probability: float | None = None
    outcome: str = ""


class _Bucket:
    __slots__ = ("stamp_ms", "tokens")

    def __init__(self, tokens: float, stamp_ms: int) -> None:
        self.tokens = tokens
        self.stamp_ms = stamp_ms


class ThoughtsLimiter:
    """Admit at most `per_second` thoughts per symbol (bursts up to `burst`) into a bounded buffer."""

    def __init__(
        self,
        per_second: float = 5.0,
        *,
        burst: int | None = None,
        capacity: int = 10_000,
        clock: Clock | None = None,
    ) -> None:
        if per_second <= 0 or capacity < 1:
            raise ValueError("per_second must be > 0 and capacity >= 1")
        self._rate = per_second
        self._burst = float(burst if burst is not None else max(1, round(per_second)))
        self._clock = clock or WallClock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._buffer: deque[Thought] = deque()
        self._capacity = capacity
        self.dropped: Counter[tuple[str, str]] = Counter()  # (symbol, "rate" | "buffer_full") -> n
        self.admitted = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def offer(self, thought: Thought) -> bool:
        """True if the thought was admitted for storage; False (and counted) if it was dropped."""
        symbol = thought.decision.symbol
        now = self._clock.now()
        key = (thought.tenant_id, symbol)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        else:
            elapsed = max(0, now - bucket.stamp_ms)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate / 1000.0)
            bucket.stamp_ms = now
        if bucket.tokens < 1.0:
            self.dropped[(symbol, "rate")] += 1
            return False
        if len(self._buffer) >= self._capacity:
            self.dropped[(symbol, "buffer_full")] += 1
            return False
        bucket.tokens -= 1.0
        self._buffer.append(thought)
        self.admitted += 1
        return True

    def drain(self, max_items: int | None = None) -> list[Thought]:
        """Take up to `max_items` buffered thoughts, oldest first."""
        n = len(self._buffer) if max_items is None else min(max_items, len(self._buffer))
        return [self._buffer.popleft() for _ in range(n)]

    async def forward(self, writer: StorageWriter, *, interval_s: float = 0.05) -> None:
        """Move buffered thoughts into `writer` until cancelled (then forwards what is left)."""
        try:
            while True:
                await self._forward_once(writer)
                await asyncio.sleep(interval_s)
        finally:
            if writer.running:
                await asyncio.shield(self._forward_once(writer))

    async def _forward_once(self, writer: StorageWriter) -> None:
        for t in self.drain():
            await writer.put(t.tenant_id, _add_decision(t), label=f"decision:{t.decision.symbol}")


def _add_decision(t: Thought) -> WriteFn:
    def fn(session: TenantSession) -> None:
        session.add_decision(
            t.decision,
            model_version=t.model_version,
            model_probability=t.model_probability,
            outcome=t.outcome,
        )

    return fn
