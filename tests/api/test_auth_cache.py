"""The authenticator's key cache: one storage check per key at a time, re-checked ahead of expiry,
and a revoked key refused within `cache_ttl_s` of the check that last saw it valid - including on
a live socket opened before the revocation."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from api_rig import build_rig, revoke
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from aitrader.api.auth import Authenticator, Principal, SessionStore
from aitrader.api.ratelimit import RateLimiter
from aitrader.api.routes import live

KEY = "atk_live_example"


class Verifier:
    def __init__(self) -> None:
        self.valid = True
        self.calls = 0
        self.release = threading.Event()
        self.release.set()

    def verify(self, presented: str) -> Principal | None:
        self.calls += 1
        self.release.wait(5)
        return Principal("alpha", 7, "read") if self.valid and presented == KEY else None

    def is_active(self, key_id: int) -> bool:
        self.calls += 1
        return self.valid


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def authenticator(v: Verifier, clock: Clock) -> Authenticator:
    return Authenticator(v, SessionStore(3600), RateLimiter(10_000), cache_ttl_s=2.0, clock=clock)


async def _settle() -> None:
    for _ in range(50):  # let a background re-check (a worker thread) finish
        await asyncio.sleep(0.01)


async def test_concurrent_requests_share_one_check() -> None:
    v, clock = Verifier(), Clock()
    a = authenticator(v, clock)
    v.release.clear()
    waiting = [asyncio.create_task(a.resolve(KEY)) for _ in range(50)]
    await asyncio.sleep(0.05)
    v.release.set()
    assert all(p is not None and p.tenant_id == "alpha" for p in await asyncio.gather(*waiting))
    assert v.calls == 1
    assert await a.resolve(KEY) is not None and v.calls == 1  # cached


async def test_a_revoked_key_is_refused_within_the_bound() -> None:
    v, clock = Verifier(), Clock()
    a = authenticator(v, clock)
    assert await a.resolve(KEY) is not None
    v.valid = False  # revoked in storage
    clock.t += 0.5
    assert await a.resolve(KEY) is not None and v.calls == 1  # young answer: no check
    clock.t += 0.7  # 1.2 s old: still answered from the cache, and re-checked behind it
    assert await a.resolve(KEY) is not None
    await _settle()
    assert v.calls == 2 and await a.resolve(KEY) is None  # the re-check saw the revocation


async def test_without_traffic_an_expired_answer_is_never_used() -> None:
    v, clock = Verifier(), Clock()
    a = authenticator(v, clock)
    assert await a.resolve(KEY) is not None
    v.valid = False
    clock.t += 2.0
    assert await a.resolve(KEY) is None and v.calls == 2


async def test_failures_are_not_cached_and_sessions_die_with_their_key() -> None:
    v, clock = Verifier(), Clock()
    a = authenticator(v, clock)
    for _ in range(3):
        assert await a.resolve("atk_wrong") is None
    assert v.calls == 3
    principal = await a.resolve(KEY)
    assert principal is not None
    token, _ = a.sessions.issue(principal)
    assert (await a.resolve(token)) is not None
    v.valid = False
    clock.t += 2.0
    assert await a.resolve(token) is None


def test_an_open_socket_of_a_revoked_key_is_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "RECHECK_S", 0.1)
    rig = build_rig(tmp_path, live_interval_s=0.05)
    with TestClient(rig.app) as client:
        h = {"Authorization": f"Bearer {rig.keys['read']}"}
        with client.websocket_connect("/ws/live", headers=h) as ws:
            assert json.loads(ws.receive_text())["type"] == "state"
            revoke(rig, "read")
            rig.app.state.authenticator.forget_cached()  # as if the 2 s cache bound had passed
            with pytest.raises(WebSocketDisconnect) as closed:
                for _ in range(100):  # at 20 messages/s: 5 s at most
                    ws.receive_text()
            assert closed.value.code == 1008
