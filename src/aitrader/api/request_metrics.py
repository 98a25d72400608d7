"""Counts and times every HTTP request by route template (never by raw path, which would let a
client create unbounded label values).

The labelled series are looked up once per (method, template, status) and kept: `labels()` takes a
lock and hashes its arguments, which at 1,000 req/s was a measurable share of a cached read's cost.
The keys are bounded by the app's routes, methods and statuses.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aitrader.metrics import API_REQUEST_SECONDS, API_REQUESTS


class RequestMetricsMiddleware:
    MAX_SERIES = 2_000  # a method the app never routes is still one label value; bound them anyway

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = str(getattr(route, "path", "")) or "unmatched"
            self._observe(scope["method"], template, status, time.perf_counter() - start)

    def _observe(self, method: str, template: str, status: int, seconds: float) -> None:
        key = (method, template, str(status))
        counter = self._counters.get(key)
        if counter is None:
            if len(self._counters) >= self.MAX_SERIES:
                self._counters.clear()
            counter = self._counters[key] = API_REQUESTS.labels(*key)
        counter.inc()
        timer = self._timers.get(template)
        if timer is None:
            if len(self._timers) >= self.MAX_SERIES:
                self._timers.clear()
            timer = self._timers[template] = API_REQUEST_SECONDS.labels(template)
        timer.observe(seconds)
