"""REST faults shared by every venue: added latency, rate limiting, CDN-style 5xx pages, and the
order that is accepted while its reply is lost.

Only the 429 body is the venue's own (each exchange words it differently and clients map it to
their rate-limit error); latency and the 5xx HTML come from the same layer in front of any of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from aitrader.venues.simulator.faults import FaultInjector


async def rest_fault(faults: FaultInjector, rate_limited: Callable[[], web.Response]) -> web.Response | None:
    """The faulty reply for this request, or None to serve it (after `delay_ms`)."""
    if faults.spec.delay_ms:
        await asyncio.sleep(faults.spec.delay_ms / 1000)
    if faults.strike("http_429"):
        return rate_limited()
    if faults.strike("http_5xx"):
        status = faults.choice([500, 502, 503, 504, 520])
        body = f"<html><head><title>{status}</title></head><body>error code: {status}</body></html>"
        return web.Response(status=status, text=body, content_type="text/html")
    return None


async def timeout_after_accept(faults: FaultInjector, hang_s: float, request: web.Request) -> None:
    """Call after an order was created: when the fault strikes, the order exists but the client never
    hears about it (the reply hangs `hang_s`, then the connection drops); otherwise returns."""
    if not faults.strike("timeout_after_accept"):
        return
    await asyncio.sleep(hang_s)
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError
