"""Rate limits per client IP (before authentication) and per API key (after it).

A token bucket per identity: `per_minute` tokens refill evenly over a minute and the bucket holds at
most `burst` of them, so a dashboard's page load passes but a sustained flood gets 429 with a
`Retry-After` telling the client when one more request would pass. The IP limit runs first, so even
unauthenticated guessing is throttled; the key limit stops one key from starving the others behind a
shared proxy. Buckets are in memory: limits are per API process, which is what protects it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from aitrader.metrics import API_RATE_LIMITED


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by any string; `hit(key)` returns 0 when allowed, else seconds to wait."""

    MAX_KEYS = 50_000  # beyond this, idle (refilled) buckets are forgotten to bound memory

    def __init__(
        self, per_minute: int, *, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 6))
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, key: str) -> float:
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.MAX_KEYS:
                self._prune(now)
            b = self._buckets[key] = _Bucket(self.burst, now)
        else:
            b.tokens = min(self.burst, b.tokens + (now - b.updated) * self.rate)
            b.updated = now
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return 0.0
        return (1.0 - b.tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for k in full:
            del self._buckets[k]


def retry_after_header(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))


def client_ip(scope: Scope) -> str:
    """The peer address. Proxies are not trusted: behind one, run uvicorn with --forwarded-allow-ips."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class IpRateLimitMiddleware:
    """429 + Retry-After for HTTP requests and WebSocket handshakes over the per-IP budget."""

    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, exempt_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.hit("ip:" + client_ip(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        API_RATE_LIMITED.labels(by="ip").inc()
        body = json.dumps({"detail": "too many requests from this address"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", retry_after_header(wait).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        if scope["type"] == "websocket":
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
                return
            # refuse the handshake with an HTTP 429 (WebSocket Denial Response extension)
            await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
