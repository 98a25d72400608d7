"""The live state stream behind `/ws/live`: built once per tenant per interval, fanned out to all.

Building the state takes several views, so it must not scale with the number of open dashboards:
each tenant with at least one subscriber has one producer task that builds the payload at most once
per `interval_s` (from the tenant's read snapshots, `api/snapshots.py`, shared with the REST routes),
serialises it once, and offers the same text to every subscriber of that tenant. A slow subscriber
has a small queue of its own; when it is full the oldest message is dropped (the newest state
supersedes it) and counted, so one stuck browser never delays the others. Every message carries a
per-tenant `seq`, so a client can tell whether it missed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from pydantic import BaseModel

from aitrader.api import views
from aitrader.api.control import ControlFactory, EngineControl
from aitrader.core.time import now_ms
from aitrader.metrics import API_WS_CLIENTS, API_WS_DROPPED

log = logging.getLogger(__name__)

FAN_OUT_BATCH = 32  # subscribers woken per event-loop turn (see LiveHub._fan_out)


class LiveState(BaseModel):
    """One `/ws/live` message."""

    type: str = "state"
    seq: int
    ts: int
    status: views.Status
    positions: list[views.Position]
    orders: list[views.OrderView]
    equity: list[views.EquityPoint]
    decisions: list[views.DecisionView]
    risk: views.RiskStatus


async def build_state(
    control: EngineControl, seq: int, *, decisions: int = 20, equity: int = 50
) -> LiveState:
    status = await control.status()
    positions = await control.positions()
    orders = await control.orders(open_only=True)
    curve = await control.equity_curve()
    page = await control.decisions(1, decisions)
    risk = await control.risk_status()
    return LiveState(
        seq=seq,
        ts=now_ms(),
        status=status,
        positions=positions,
        orders=orders,
        equity=curve[-equity:],
        decisions=page.items,
        risk=risk,
    )


@dataclass(eq=False)
class Subscription:
    tenant_id: str
    queue: asyncio.Queue[str]
    dropped: int = 0

    def offer(self, text: str) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
            API_WS_DROPPED.inc()
        self.queue.put_nowait(text)


@dataclass(eq=False)
class _Channel:
    tenant_id: str
    subscribers: set[Subscription] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    last_text: str | None = None
    last_build: float | None = None
    seq: int = 0
    builds: int = 0


class LiveHub:
    def __init__(
        self, control_factory: ControlFactory, *, interval_s: float = 1.0, client_queue: int = 8
    ) -> None:
        self.control_factory = control_factory
        self.interval_s = interval_s
        self.client_queue = client_queue
        self._channels: dict[str, _Channel] = {}

    def subscribe(self, tenant_id: str) -> Subscription:
        ch = self._channels.setdefault(tenant_id, _Channel(tenant_id))
        sub = Subscription(tenant_id, asyncio.Queue(maxsize=self.client_queue))
        ch.subscribers.add(sub)
        API_WS_CLIENTS.inc()
        if ch.last_text is not None and ch.task is not None and not ch.task.done():
            sub.offer(ch.last_text)  # the current state right away; no extra build
        if ch.task is None or ch.task.done():
            ch.task = asyncio.create_task(self._produce(ch), name=f"live-hub:{tenant_id}")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        ch = self._channels.get(sub.tenant_id)
        if ch is None or sub not in ch.subscribers:
            return
        ch.subscribers.discard(sub)
        API_WS_CLIENTS.dec()
        # the producer notices the empty set and ends by itself

    def builds(self, tenant_id: str) -> int:
        """How many payloads were built for a tenant (the once-per-interval guarantee is testable)."""
        ch = self._channels.get(tenant_id)
        return ch.builds if ch else 0

    def subscribers(self, tenant_id: str) -> int:
        ch = self._channels.get(tenant_id)
        return len(ch.subscribers) if ch else 0

    async def _produce(self, ch: _Channel) -> None:
        loop = asyncio.get_running_loop()
        control = self.control_factory(ch.tenant_id)
        while ch.subscribers:
            if ch.last_build is not None:  # also holds across a producer restart
                wait = ch.last_build + self.interval_s - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    if not ch.subscribers:
                        break
            ch.last_build = loop.time()
            try:
                state = await build_state(control, ch.seq + 1)
            except Exception:
                log.exception("building the live state for tenant %s failed", ch.tenant_id)
                continue
            ch.seq += 1
            ch.builds += 1
            ch.last_text = state.model_dump_json()
            await self._fan_out(ch, ch.last_text)

    async def _fan_out(self, ch: _Channel, text: str) -> None:
        """Offer `text` to every subscriber, FAN_OUT_BATCH at a time with a loop turn in between.

        Each offer wakes that socket's sender, and a send costs ~0.1 ms: waking 500 at once would hold
        the event loop for ~50 ms, delaying every REST request that arrives meanwhile. In batches,
        the loop polls its sockets between them, so a request waits for at most one batch.
        """
        subs = list(ch.subscribers)
        for i in range(0, len(subs), FAN_OUT_BATCH):
            if i:
                await asyncio.sleep(0)
            for sub in subs[i : i + FAN_OUT_BATCH]:
                sub.offer(text)

    async def close(self) -> None:
        tasks = [ch.task for ch in self._channels.values() if ch.task is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for ch in self._channels.values():
            API_WS_CLIENTS.dec(len(ch.subscribers))
            ch.subscribers.clear()
