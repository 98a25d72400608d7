"""Fault injection: the ways a real exchange misbehaves, on demand and reproducibly.

A spec like `http_429=0.05,http_5xx=0.02,delay_ms=50,ws_delay_ms=200,ws_jitter_ms=50,drop_ws=0.01,seed=7`
sets per-event probabilities (and fixed delays in ms); one seeded RNG draws them, so a failing run can
be replayed. `burst(kind, n)`
forces the next `n` events of a kind, for tests that need a fault at an exact moment.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, fields

from aitrader.core.errors import ConfigError


@dataclass(slots=True)
class FaultSpec:
    http_429: float = 0.0  # REST reply 429 + {"error":["EAPI:Rate limit exceeded"]}
    http_5xx: float = 0.0  # REST reply 502/503/504/520 with an HTML body, as the CDN sends
    delay_ms: int = 0  # added latency for every REST reply
    reject: float = 0.0  # AddOrder refused by the venue (no order created)
    partial: float = 0.0  # a fill covers only part of what could fill in that candle
    timeout_after_accept: float = 0.0  # AddOrder creates the order, then the reply never comes
    drop_ws: float = 0.0  # per outgoing WS message: the socket is closed instead
    duplicate_ws: float = 0.0  # per outgoing WS message: it is sent twice
    reorder_ws: float = 0.0  # per outgoing WS message: it is held back and sent after the next one
    ws_delay_ms: int = 0  # added latency for every outgoing WS message (per connection, in order)
    ws_jitter_ms: int = 0  # plus a uniform random 0..ws_jitter_ms each (order is still kept)
    seed: int = 0

    INTEGERS = ("delay_ms", "ws_delay_ms", "ws_jitter_ms", "seed")

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        spec = cls()
        if not text:
            return spec
        names = {f.name for f in fields(cls)}
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in names:
                raise ConfigError(
                    f"invalid fault {part!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(names))}"
                )
            try:
                num = float(value)
            except ValueError:
                raise ConfigError(f"invalid fault {part!r}: {value!r} is not a number") from None
            if key in cls.INTEGERS:
                if num < 0 or num != int(num):
                    raise ConfigError(f"invalid fault {part!r}: must be a non-negative integer")
                setattr(spec, key, int(num))
            else:
                if not 0.0 <= num <= 1.0:
                    raise ConfigError(f"invalid fault {part!r}: a probability must be in [0, 1]")
                setattr(spec, key, num)
        return spec


class FaultInjector:
    """Decides, event by event, whether a fault strikes. Thread-safe (the CLI may share it)."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self.spec = spec or FaultSpec()
        self._rng = random.Random(self.spec.seed)
        self._forced: dict[str, int] = {}
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def burst(self, kind: str, n: int = 1) -> None:
        """Force the next `n` chances of `kind` (e.g. "http_429") to strike."""
        if not hasattr(self.spec, kind) or kind in FaultSpec.INTEGERS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._forced[kind] = self._forced.get(kind, 0) + n

    def strike(self, kind: str) -> bool:
        """True when fault `kind` hits this event."""
        with self._lock:
            forced = self._forced.get(kind, 0)
            if forced > 0:
                self._forced[kind] = forced - 1
                hit = True
            else:
                p = float(getattr(self.spec, kind))
                hit = p > 0 and self._rng.random() < p
            if hit:
                self.counts[kind] = self.counts.get(kind, 0) + 1
            return hit

    def ws_delay_s(self) -> float:
        """How long to hold the next outgoing WS message: `ws_delay_ms` plus a draw of the jitter."""
        ms = float(self.spec.ws_delay_ms)
        if self.spec.ws_jitter_ms > 0:
            ms += self.uniform(0.0, float(self.spec.ws_jitter_ms))
        return ms / 1000

    def uniform(self, lo: float, hi: float) -> float:
        with self._lock:
            return self._rng.uniform(lo, hi)

    def choice(self, options: list[int]) -> int:
        with self._lock:
            return self._rng.choice(options)
