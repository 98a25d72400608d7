"""The per-tenant read snapshots (`api/snapshots.py`): shared builds, the freshness bound, actions
dropping snapshots (including builds that were already running), and tenant separation."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
from api_engine import CommandConsumer
from api_rig import build_rig

from aitrader.api import views
from aitrader.api.control import EngineControl
from aitrader.api.snapshots import CachedControl, SnapshotControls
from aitrader.core.commands import CommandResult


class FakeControl:
    """Counts status reads; `gate` (when set) holds a read until the test releases it."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.paused = False
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def status(self) -> views.Status:
        self.reads += 1
        paused = self.paused  # the state as of the start of the read, like a DB transaction
        if self.gate is not None:
            await self.gate.wait()
        z = Decimal(0)
        return views.Status(
            tenant_id=self.tenant_id,
            mode="paper",
            running=True,
            entries_paused=paused,
            kill_switch=False,
            quote_currency="USDT",
            equity=Decimal(self.reads),
            realized_pnl=z,
            unrealized_pnl=z,
            pnl_today=z,
            open_positions=0,
            open_orders=0,
            ts=self.reads,
        )

    async def pause_entries(self, *, actor: str) -> CommandResult:
        self.paused = True
        return CommandResult(True, "entries paused")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cached(fake: FakeControl, clock: Clock, ttl_s: float = 1.0) -> CachedControl:
    return CachedControl(cast(EngineControl, fake), ttl_s=ttl_s, clock=clock)


async def test_concurrent_readers_share_one_build() -> None:
    fake, clock = FakeControl("alpha"), Clock()
    c = cached(fake, clock)
    fake.gate = asyncio.Event()
    readers = [asyncio.create_task(c.status()) for _ in range(20)]
    await asyncio.sleep(0)
    fake.gate.set()
    results = await asyncio.gather(*readers)
    assert fake.reads == 1 and len({id(r) for r in results}) == 1
    body = await c.json("status")
    assert body is await c.json("status")  # encoded once per snapshot
    assert json.loads(body)["equity"] == "1" and fake.reads == 1


async def test_freshness_bound_is_two_ttls() -> None:
    fake, clock = FakeControl("alpha"), Clock()
    c = cached(fake, clock, ttl_s=1.0)
    assert (await c.status()).ts == 1
    clock.t += 0.9
    assert (await c.status()).ts == 1 and fake.reads == 1  # fresh: no read
    clock.t += 0.5  # 1.4 s old: served as is while one background read refreshes it
    assert (await c.status()).ts == 1
    await asyncio.sleep(0)
    assert fake.reads == 2
    assert (await c.status()).ts == 2
    clock.t += 2.5  # older than 2 * ttl: the caller waits for a fresh read
    assert (await c.status()).ts == 3


async def test_an_action_drops_snapshots_and_builds_already_running() -> None:
    fake, clock = FakeControl("alpha"), Clock()
    c = cached(fake, clock)
    assert (await c.status()).entries_paused is False
    clock.t += 1.5  # stale: the next read starts a background refresh...
    fake.gate = asyncio.Event()
    assert (await c.status()).entries_paused is False
    await asyncio.sleep(0)
    await c.pause_entries(actor="key:1")  # ...and the action completes while it runs
    fake.gate.set()
    await asyncio.sleep(0)
    # the refresh began before the pause, so it is not kept: the next read is a new one
    assert (await c.status()).entries_paused is True
    assert fake.reads == 3


async def test_each_tenant_has_its_own_snapshots() -> None:
    fakes: dict[str, FakeControl] = {}

    def factory(tenant_id: str) -> EngineControl:
        fakes[tenant_id] = FakeControl(tenant_id)
        return cast(EngineControl, fakes[tenant_id])

    controls = SnapshotControls(factory, ttl_s=60)
    assert controls("alpha") is controls("alpha") and controls("alpha") is not controls("beta")
    assert (await controls("alpha").status()).tenant_id == "alpha"
    assert (await controls("beta").status()).tenant_id == "beta"
    await controls("beta").pause_entries(actor="key:2")
    assert (await controls("beta").status()).entries_paused is True
    assert (await controls("alpha").status()).entries_paused is False
    assert fakes["alpha"].reads == 1  # beta's action left alpha's snapshot alone


async def test_rest_reads_are_snapshots_and_a_pause_shows_at_once(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    consumer = CommandConsumer(rig.db, rig.queue)
    consumer.start()
    transport = httpx.ASGITransport(app=rig.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            h = {"Authorization": f"Bearer {rig.keys['control']}"}
            controls: Any = rig.app.state.control_factory
            first = await c.get("/api/v1/status", headers=h)
            assert first.status_code == 200 and first.json()["entries_paused"] is False
            builds = controls("alpha").builds
            for _ in range(5):
                assert (await c.get("/api/v1/status", headers=h)).content == first.content
            assert controls("alpha").builds == builds  # no storage read while fresh
            assert (await c.post("/api/v1/control/pause", headers=h)).status_code == 200
            assert (await c.get("/api/v1/status", headers=h)).json()["entries_paused"] is True
            beta = {"Authorization": f"Bearer {rig.keys['beta_control']}"}
            assert (await c.get("/api/v1/status", headers=beta)).json()["tenant_id"] == "beta"
    finally:
        await consumer.stop()
