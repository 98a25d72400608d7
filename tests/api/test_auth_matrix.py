"""Every route the app registers, called with no key, each scope and the wrong tenant.

The rules below name every route; a route the app registers without a rule here fails the test, so
a new endpoint cannot ship without someone deciding who may call it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_engine import CommandConsumer
from api_rig import Rig, build_rig
from api_seed import BETA_MARKER
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

# strings that exist only in tenant alpha's data
ALPHA_ONLY = ("a-stop-btc", "63010.1", "ema 12 crossed", "10412.55")


@dataclass(frozen=True)
class Rule:
    need: str  # open | read | control | admin
    path: str | None = None  # concrete path when the template has parameters
    body: dict[str, Any] | None = None
    wrong_tenant: int = 200  # status for a beta admin key
    extra: dict[str, int] = field(default_factory=dict)  # overrides per credential


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule("open"),
    ("GET", "/"): Rule("open"),
    ("MOUNT", "/static"): Rule("open", path="/static/app.js"),
    ("POST", "/api/v1/auth/login"): Rule("open"),  # special: see _login_expectations
    ("POST", "/api/v1/auth/logout"): Rule("read"),
    ("GET", "/api/v1/auth/me"): Rule("read"),
    ("GET", "/api/v1/openapi.json"): Rule("read"),
    ("GET", "/metrics"): Rule("read"),
    ("GET", "/api/v1/status"): Rule("read"),
    ("GET", "/api/v1/balances"): Rule("read"),
    ("GET", "/api/v1/positions"): Rule("read"),
    ("GET", "/api/v1/orders"): Rule("read"),
    ("GET", "/api/v1/trades"): Rule("read"),
    ("GET", "/api/v1/equity"): Rule("read"),
    ("GET", "/api/v1/decisions"): Rule("read"),
    ("GET", "/api/v1/strategies"): Rule("read"),
    ("GET", "/api/v1/risk"): Rule("read"),
    ("GET", "/api/v1/config"): Rule("read"),
    # alpha trades ETH/USDT (configured pair); beta's instance shares the settings, so 200 with [] candles
    ("GET", "/api/v1/candles"): Rule("read", path="/api/v1/candles?symbol=ETH/USDT"),
    ("POST", "/api/v1/control/pause"): Rule("control"),
    ("POST", "/api/v1/control/resume"): Rule("control"),
    # BTC/USDT is alpha's open position; beta has none -> 404 for beta
    ("POST", "/api/v1/control/close"): Rule("control", body={"symbol": "BTC/USDT"}, wrong_tenant=404),
    ("POST", "/api/v1/control/close-all"): Rule("control"),
    ("POST", "/api/v1/control/kill-switch"): Rule("control"),
    ("POST", "/api/v1/control/risk-limits"): Rule("control", body={"max_open_positions": 4}),
    ("GET", "/api/v1/tenants"): Rule("admin"),
    ("GET", "/api/v1/tenants/{tenant_id}"): Rule("admin", path="/api/v1/tenants/alpha", wrong_tenant=404),
    ("GET", "/api/v1/audit"): Rule("admin"),
    ("WS", "/ws/live"): Rule("read"),
}

RANK = {"open": -1, "read": 0, "control": 1, "admin": 2}
CREDS = ("none", "read", "control", "admin")


def registered(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, descending into included routers (FastAPI includes lazily)."""
    out: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):  # fastapi's _IncludedRouter
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute):
                out.update((m, prefix + r.path) for m in r.methods if m != "HEAD")
            elif isinstance(r, APIWebSocketRoute):
                out.add(("WS", prefix + r.path))
            elif isinstance(r, Mount):
                out.add(("MOUNT", prefix + r.path))
            else:
                out.add(("UNKNOWN", repr(r)[:80]))

    walk(list(app.routes), "")
    return out


def expected(rule: Rule, cred: str) -> int:
    if cred in rule.extra:
        return rule.extra[cred]
    if rule.need == "open":
        return 200
    if cred == "none":
        return 401
    return 200 if RANK[cred] >= RANK[rule.need] else 403


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = build_rig(tmp_path)
    consumer = CommandConsumer(r.db, r.queue)
    consumer.start()
    r.extras["consumer"] = consumer
    yield r
    await consumer.stop()


def test_every_route_has_a_rule(tmp_path: Path) -> None:
    app = build_rig(tmp_path).app
    routes = registered(app)
    missing = routes - set(RULES)
    stale = set(RULES) - routes
    assert not missing, f"routes without an auth rule: {sorted(missing)}"
    assert not stale, f"rules for routes that no longer exist: {sorted(stale)}"


async def _call(
    client: httpx.AsyncClient, method: str, rule: Rule, template: str, key: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    path = rule.path or template
    if method == "MOUNT":
        method = "GET"
    if template == "/api/v1/auth/login":
        r = await client.post(path, json={"key": key or "ak_not-a-key"})
        client.cookies.clear()  # every call of the matrix carries only the credential under test
        return r
    if method == "POST":
        return (
            await client.post(path, json=rule.body, headers=headers)
            if rule.body
            else await client.post(path, headers=headers)
        )
    return await client.get(path, headers=headers)


async def test_auth_matrix_http(rig: Rig) -> None:
    transport = httpx.ASGITransport(app=rig.app)
    failures = []
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for (method, template), rule in sorted(RULES.items()):
            if method == "WS":
                continue
            for cred in CREDS:
                key = None if cred == "none" else rig.keys[cred]
                want = expected(rule, cred)
                if template == "/api/v1/auth/login":
                    want = 401 if cred == "none" else 200
                r = await _call(client, method, rule, template, key)
                if r.status_code != want:
                    failures.append(f"{cred:8} {method} {template}: {r.status_code} != {want} {r.text[:120]}")
                if cred != "none" and r.status_code == 200:
                    leaked = [s for s in (BETA_MARKER,) if s in r.text]
                    if leaked:
                        failures.append(f"{cred} {method} {template}: beta data leaked {leaked}")
            # the wrong tenant: a beta admin key against alpha's objects
            r = await _call(client, method, rule, template, rig.keys["beta_admin"])
            want = 200 if rule.need == "open" else rule.wrong_tenant
            if template == "/api/v1/auth/login":
                want = 200
            if r.status_code != want:
                failures.append(f"beta     {method} {template}: {r.status_code} != {want} {r.text[:120]}")
            if r.status_code == 200 and template != "/metrics":
                leaked = [s for s in ALPHA_ONLY if s in r.text]
                if leaked:
                    failures.append(f"beta {method} {template}: alpha data leaked {leaked}")
    assert not failures, "\n".join(failures)


def test_auth_matrix_websocket(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, live_interval_s=0.05)
    with TestClient(rig.app) as client:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/live"):
            pass
        assert refused.value.code == 1008
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect("/ws/live", headers={"Authorization": "Bearer ak_wrong"}),
        ):
            pass
        for cred in ("read", "control", "admin"):
            with client.websocket_connect(
                "/ws/live", headers={"Authorization": f"Bearer {rig.keys[cred]}"}
            ) as ws:
                msg = json.loads(ws.receive_text())
                assert msg["status"]["tenant_id"] == "alpha"
                assert BETA_MARKER not in json.dumps(msg)
        with client.websocket_connect(
            "/ws/live", headers={"Authorization": f"Bearer {rig.keys['beta_admin']}"}
        ) as ws:
            text = ws.receive_text()
            assert json.loads(text)["status"]["tenant_id"] == "beta"
            assert not [s for s in ALPHA_ONLY if s in text]
