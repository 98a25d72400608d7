"""Per-tenant read snapshots: each read view is built about once per `ttl_s` (1 s) per tenant.

Why: a read view costs several storage queries in a worker thread (5-20 ms for `/status`), so at
1,000 req/s the API spent its whole budget re-reading the same rows. `CachedControl` wraps a tenant's
`EngineControl`, keeps each view (and its serialised JSON, so REST answers are not re-encoded) for
`ttl_s`, and shares one build among all concurrent callers. The REST routes, the `/ws/live` hub and
the Telegram bot all read through it, so a dashboard's poll, its live feed and the bot see one state.

Freshness bound: a read reflects storage as of at most `2 * ttl_s` (2 s) ago. Between `ttl_s` and
`2 * ttl_s` the previous snapshot is still served while one background build refreshes it (so a
request never waits for a rebuild of a view that is merely ageing); older than that, the caller waits
for a fresh build. A control action (pause, close, risk limits...) through the same control drops the
tenant's snapshots when it completes, successful or not, and builds that began before it are not
kept: the next read after an action always reflects it (the dashboard relies on a pause showing at
once). Changes the engine makes on its own are visible within the bound above.

Isolation: snapshots live in the per-tenant `CachedControl`, keyed by view and parameters only, and a
tenant's control is handed out solely by `SnapshotControls(tenant_id)`, the same seam as before.
Values are shared between callers and must be treated as read-only (the views are frozen models).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from pydantic import TypeAdapter

from aitrader.api import views
from aitrader.api.control import ControlFactory, EngineControl
from aitrader.core.commands import CommandResult, RiskLimitValue

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TTL_S = 1.0  # one build per view per second: the rhythm of /ws/live
MAX_ENTRIES = 256  # per tenant: bounds the parameterised views (pages, limits, since_ms)

# view name -> how its value serialises (the same types the routes publish in the OpenAPI schema)
ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "status": TypeAdapter(views.Status),
    "balances": TypeAdapter(list[views.Balance]),
    "positions": TypeAdapter(list[views.Position]),
    "orders": TypeAdapter(list[views.OrderView]),
    "trades": TypeAdapter(list[views.Trade]),
    "equity_curve": TypeAdapter(list[views.EquityPoint]),
    "decisions": TypeAdapter(views.DecisionPage),
    "strategy_metrics": TypeAdapter(list[views.StrategyMetric]),
    "risk_status": TypeAdapter(views.RiskStatus),
    "candles": TypeAdapter(list[views.Candle]),
}


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T
    built: float  # clock time the build *started*: the data is at least this fresh
    json: bytes | None = None


class CachedControl:
    """An `EngineControl` for one tenant whose reads are snapshots (see the module doc)."""

    def __init__(
        self,
        inner: EngineControl,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[Hashable, _Entry[Any]] = {}
        self._inflight: dict[Hashable, asyncio.Task[_Entry[Any]]] = {}
        self._gen = 0
        self.builds = 0  # how many views were actually read from storage (tests and benches)

    @property
    def tenant_id(self) -> str:
        return self._inner.tenant_id

    def invalidate(self) -> None:
        """Forget every snapshot; builds already running finish but are not kept."""
        self._gen += 1
        self._entries.clear()
        self._inflight.clear()

    async def json(self, view: str, *args: Hashable) -> bytes:
        """The view serialised as JSON, encoded once per snapshot however many callers want it."""
        adapter = ADAPTERS[view]
        entry = await self._entry(view, args)
        if entry.json is None:
            entry.json = adapter.dump_json(entry.value)
        return entry.json

    async def _entry(self, view: str, args: tuple[Hashable, ...]) -> _Entry[Any]:
        key = (view, *args)
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None:
            age = now - entry.built
            if age < self.ttl_s:
                return entry
            if age < 2 * self.ttl_s:
                self._start_build(key, view, args)  # refresh in the background, answer now
                return entry
        return await asyncio.shield(self._start_build(key, view, args))

    def _start_build(self, key: Hashable, view: str, args: tuple[Hashable, ...]) -> asyncio.Task[_Entry[Any]]:
        task = self._inflight.get(key)
        loop = asyncio.get_running_loop()
        if task is not None and not task.done() and task.get_loop() is loop:
            return task  # join the build under way (a finished one may predate an expiry)
        task = loop.create_task(self._build(key, view, args, self._gen))
        self._inflight[key] = task
        task.add_done_callback(lambda t: self._finished(key, t))
        return task

    async def _build(self, key: Hashable, view: str, args: tuple[Hashable, ...], gen: int) -> _Entry[Any]:
        started = self._clock()
        fetch = cast(Callable[..., Awaitable[Any]], getattr(self._inner, view))
        entry: _Entry[Any] = _Entry(await fetch(*args), started)
        self.builds += 1
        if gen == self._gen:  # not superseded by an action meanwhile
            if key not in self._entries and len(self._entries) >= MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))  # the oldest key
            self._entries[key] = entry
        return entry

    def _finished(self, key: Hashable, task: asyncio.Task[_Entry[Any]]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled() and task.exception() is not None:
            # waiters get the exception themselves; a background refresh has no waiter to tell
            log.debug("building %r for tenant %s failed", key, self.tenant_id, exc_info=task.exception())

    async def _view(self, view: str, *args: Hashable) -> Any:
        return (await self._entry(view, args)).value

    # ------------------------------------------------------------------ reads
    async def status(self) -> views.Status:
        return cast(views.Status, await self._view("status"))

    async def balances(self) -> list[views.Balance]:
        return cast(list[views.Balance], await self._view("balances"))

    async def positions(self) -> list[views.Position]:
        return cast(list[views.Position], await self._view("positions"))

    async def orders(self, open_only: bool = True) -> list[views.OrderView]:
        return cast(list[views.OrderView], await self._view("orders", open_only))

    async def trades(self, limit: int = 200) -> list[views.Trade]:
        return cast(list[views.Trade], await self._view("trades", limit))

    async def equity_curve(self, since_ms: int | None = None) -> list[views.EquityPoint]:
        return cast(list[views.EquityPoint], await self._view("equity_curve", since_ms))

    async def decisions(self, page: int = 1, page_size: int = 50) -> views.DecisionPage:
        return cast(views.DecisionPage, await self._view("decisions", page, page_size))

    async def strategy_metrics(self) -> list[views.StrategyMetric]:
        return cast(list[views.StrategyMetric], await self._view("strategy_metrics"))

    async def risk_status(self) -> views.RiskStatus:
        return cast(views.RiskStatus, await self._view("risk_status"))

    async def config_redacted(self) -> dict[str, Any]:
        return await self._inner.config_redacted()  # no storage read; a fresh dict per caller

    async def candles(self, symbol: str, timeframe: str, limit: int = 300) -> list[views.Candle]:
        return cast(list[views.Candle], await self._view("candles", symbol, timeframe, limit))

    # ------------------------------------------------------------------ actions
    async def _act(self, call: Awaitable[CommandResult]) -> CommandResult:
        try:
            return await call
        finally:
            self.invalidate()

    async def pause_entries(self, *, actor: str) -> CommandResult:
        return await self._act(self._inner.pause_entries(actor=actor))

    async def resume_entries(self, *, actor: str) -> CommandResult:
        return await self._act(self._inner.resume_entries(actor=actor))

    async def close_position(self, symbol: str, *, actor: str) -> CommandResult:
        return await self._act(self._inner.close_position(symbol, actor=actor))

    async def close_all(self, *, actor: str) -> CommandResult:
        return await self._act(self._inner.close_all(actor=actor))

    async def kill_switch(self, *, actor: str) -> CommandResult:
        return await self._act(self._inner.kill_switch(actor=actor))

    async def update_risk_limits(self, *, actor: str, **limits: RiskLimitValue) -> CommandResult:
        return await self._act(self._inner.update_risk_limits(actor=actor, **limits))


class SnapshotControls:
    """A `ControlFactory` handing out one `CachedControl` per tenant over an inner factory."""

    def __init__(self, inner: ControlFactory, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self._controls: dict[str, CachedControl] = {}

    def __call__(self, tenant_id: str) -> CachedControl:
        control = self._controls.get(tenant_id)
        if control is None:
            control = self._controls[tenant_id] = CachedControl(self.inner(tenant_id), ttl_s=self.ttl_s)
        return control


def snapshot_controls(factory: ControlFactory, ttl_s: float = DEFAULT_TTL_S) -> SnapshotControls:
    """`factory` wrapped once (an already wrapped factory is returned as it is)."""
    return factory if isinstance(factory, SnapshotControls) else SnapshotControls(factory, ttl_s=ttl_s)
