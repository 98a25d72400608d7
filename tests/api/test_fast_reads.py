"""The polled-read fast path (`api/fast_reads.py`): it answers only what the FastAPI route would answer
200 to, with the same body, and passes everything else on untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from api_rig import build_rig, revoke

from aitrader.api.fast_reads import FAST_READS, FastReadMiddleware
from aitrader.api.headers import CSP
from aitrader.metrics import API_REQUESTS

Message = dict[str, Any]


def _bounds(schema: dict[str, Any]) -> tuple[Any, Any]:
    for s in [schema, *schema.get("anyOf", [])]:
        if "minimum" in s or "maximum" in s:
            return s.get("minimum"), s.get("maximum")
    return None, None


def test_fast_reads_mirror_the_published_parameters(tmp_path: Path) -> None:
    spec = build_rig(tmp_path).app.openapi()
    for path, fast in FAST_READS.items():
        assert set(spec["paths"][path]) == {"get"}, path  # a real route, and read-only
        params = spec["paths"][path]["get"].get("parameters", [])
        published = {
            p["name"]: (p["schema"].get("default"), *_bounds(p["schema"]))
            for p in params
            if p["in"] == "query"
        }
        mirrored = {
            p.name: (p.default, *((p.lo, p.hi) if p.kind == "int" else (None, None))) for p in fast.params
        }
        assert mirrored == published, path


async def _drive(mw: FastReadMiddleware, path: str, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    p, _, q = path.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": p,
        "query_string": q.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 1),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(m: Message) -> None:
        sent.append(m)

    await mw(scope, receive, send)
    return sent


async def test_only_the_happy_path_is_answered_here(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    passed_on: list[str] = []

    async def fastapi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        q = scope["query_string"].decode()
        passed_on.append(scope["path"] + ("?" + q if q else ""))

    mw = FastReadMiddleware(
        fastapi, authenticator=rig.app.state.authenticator, controls=rig.app.state.control_factory
    )
    key = [(b"authorization", f"Bearer {rig.keys['read']}".encode())]
    answered = [
        "/api/v1/status",
        "/api/v1/trades?limit=50",
        "/api/v1/decisions?page_size=20&page=1",
        "/api/v1/orders?open_only=false",
        "/api/v1/equity?since_ms=0",
    ]
    for path in answered:
        sent = await _drive(mw, path, key)
        assert sent[0]["status"] == 200 and json.loads(sent[1]["body"]) is not None, path
    assert passed_on == []
    declined = [
        "/api/v1/trades?limit=0",  # out of range: FastAPI's 422
        "/api/v1/trades?limit=1001",
        "/api/v1/trades?limit=050",  # not canonical: FastAPI decides
        "/api/v1/trades?limit=%35",
        "/api/v1/trades?limit=5&limit=6",
        "/api/v1/status?x=1",  # unknown parameter
        "/api/v1/orders?open_only=1",
        "/api/v1/audit",  # not a fast read at all
    ]
    for path in declined:
        assert await _drive(mw, path, key) == [], path
    assert await _drive(mw, "/api/v1/status", []) == []  # no credential: FastAPI's 401
    bad = [(b"authorization", b"Bearer atk_not-a-key")]
    assert await _drive(mw, "/api/v1/status", bad) == []
    assert passed_on == [*declined, "/api/v1/status", "/api/v1/status"]


async def test_answers_equal_the_routes_and_errors_are_the_routes(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, rate_limit_per_minute=60)  # burst of 10 per key
    transport = httpx.ASGITransport(app=rig.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        read = {"Authorization": f"Bearer {rig.keys['read']}"}
        fast = await c.get("/api/v1/decisions?page_size=3", headers=read)
        slow = await c.get("/api/v1/decisions?page_size=3&unknown=1", headers=read)  # via FastAPI
        assert fast.status_code == slow.status_code == 200 and fast.json() == slow.json()
        assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
        assert fast.headers["content-security-policy"] == CSP and fast.headers["cache-control"] == "no-store"
        assert len(fast.json()["items"]) == 3
        assert API_REQUESTS.labels("GET", "/api/v1/decisions", "200")._value.get() >= 2
        beta = await c.get("/api/v1/status", headers={"Authorization": f"Bearer {rig.keys['beta_admin']}"})
        assert beta.json()["tenant_id"] == "beta"

        assert (await c.get("/api/v1/status")).status_code == 401
        r = await c.get("/api/v1/trades?limit=0", headers=read)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]
        statuses = [(await c.get("/api/v1/status", headers=read)).status_code for _ in range(12)]
        assert 429 in statuses
        limited = await c.get("/api/v1/status", headers=read)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1

        revoke(rig, "admin")
        rig.app.state.authenticator.forget_cached()
        admin = {"Authorization": f"Bearer {rig.keys['admin']}"}
        assert (await c.get("/api/v1/positions", headers=admin)).status_code == 401
