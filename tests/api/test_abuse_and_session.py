"""Abuse controls, browser sessions, audit, redaction, live fan-out and the public-bind refusal."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from api_engine import CommandConsumer
from api_rig import build_rig, revoke
from fastapi.testclient import TestClient

from aitrader.api.auth import SESSION_COOKIE
from aitrader.api.headers import CSP
from aitrader.api.redact import MASK, redact_value
from aitrader.cli.api_cmd import check_bind
from aitrader.config import ApiConfig
from aitrader.core.commands import PauseEntries, UpdateRiskLimits
from aitrader.core.errors import ConfigError


def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")  # type: ignore[arg-type]


async def test_ip_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, ip_rate_limit_per_minute=60)  # burst 20
    async with _client(rig.app) as c:
        codes = [(await c.get("/api/v1/status")).status_code for _ in range(25)]
        assert codes[:20] == [401] * 20  # unauthenticated guessing is throttled too
        r = await c.get("/api/v1/status")
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_key_rate_limit_is_per_key(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, rate_limit_per_minute=60)  # burst 10 per key
    async with _client(rig.app) as c:
        h = {"Authorization": f"Bearer {rig.keys['read']}"}
        codes = [(await c.get("/api/v1/status", headers=h)).status_code for _ in range(12)]
        assert codes[:10] == [200] * 10 and codes[-1] == 429
        other = await c.get("/api/v1/status", headers={"Authorization": f"Bearer {rig.keys['admin']}"})
        assert other.status_code == 200


async def test_oversized_and_malformed_bodies_are_refused_cleanly(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, max_body_bytes=2048)
    h = {"Authorization": f"Bearer {rig.keys['control']}", "Content-Type": "application/json"}
    async with _client(rig.app) as c:
        big = json.dumps({"symbol": "B" * 5000})
        assert (await c.post("/api/v1/control/close", content=big, headers=h)).status_code == 413

        async def chunks():  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b"x" * 1000

        r = await c.post("/api/v1/control/close", content=chunks(), headers=h)
        assert r.status_code == 413
        malformed = (b"{", b"[]", b'{"symbol": 5}', b'{"symbol": "BTC/USDT", "x": 1}', b"\xff\xfe", b"null")
        # not even text: FastAPI's own answer would be 400; ours is the same 422 as any bad body
        malformed += (b"\x15rc\xe9\x1d^\xc3/5", b'{"symbol": "BTC/USDT\xff"}', b'{"symbol": "BTC USDT"}')
        for body in malformed:
            r = await c.post("/api/v1/control/close", content=body, headers=h)
            assert r.status_code == 422, (body, r.status_code, r.text)
        r = await c.post("/api/v1/control/risk-limits", json={"risk_per_trade": "0.9"}, headers=h)
        assert r.status_code == 422 and "risk_per_trade" in r.text
        r = await c.post("/api/v1/control/risk-limits", json={}, headers=h)
        assert r.status_code == 422
        r = await c.get("/api/v1/decisions?page=0", headers=h)
        assert r.status_code == 422
        r = await c.get("/api/v1/candles?symbol=not-a-symbol", headers=h)
        assert r.status_code == 422
        r = await c.get("/api/v1/candles?symbol=ZZZ/USDT", headers=h)  # well formed, not this tenant's
        assert r.status_code == 404 and "not traded here" in r.text


async def test_security_headers_and_no_cors_by_default(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    async with _client(rig.app) as c:
        r = await c.get("/")
        assert r.status_code == 200 and "<script" in r.text and "<script>" not in r.text  # no inline script
        assert r.headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
        assert r.headers["referrer-policy"] == "no-referrer"
        pre = await c.options(
            "/api/v1/status",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in pre.headers
        api = await c.get("/api/v1/status", headers={"Authorization": f"Bearer {rig.keys['read']}"})
        assert api.headers["cache-control"] == "no-store"


async def test_login_session_cookie_csrf_logout(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    consumer = CommandConsumer(rig.db, rig.queue)
    consumer.start()
    try:
        async with _client(rig.app) as c:
            r = await c.post("/api/v1/auth/login", json={"key": rig.keys["control"]})
            assert r.status_code == 200 and r.json()["scope"] == "control"
            cookie = r.headers["set-cookie"]
            assert f"{SESSION_COOKIE}=ats_" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
            assert rig.keys["control"] not in cookie
            assert (await c.get("/api/v1/auth/me")).json()["via"] == "session"
            # a cross-site form cannot add the CSRF header: refused
            assert (await c.post("/api/v1/control/pause")).status_code == 403
            r = await c.post("/api/v1/control/pause", headers={"X-Aitrader-Csrf": "1"})
            assert r.status_code == 200 and r.json() == {
                "ok": True,
                "action": "pause_entries",
                "message": "entries paused",
            }
            assert (await c.get("/api/v1/status")).json()["entries_paused"] is True
            assert (await c.post("/api/v1/auth/logout", headers={"X-Aitrader-Csrf": "1"})).status_code == 200
            c.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
            assert (await c.get("/api/v1/auth/me")).status_code == 401  # revoked server-side
        assert [type(x) for x in consumer.received] == [PauseEntries]
        assert consumer.received[0].requested_by == f"key:{rig.extras['key_ids']['control']}"
    finally:
        await consumer.stop()


async def test_revoked_key_kills_its_session(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    async with _client(rig.app) as c:
        assert (await c.post("/api/v1/auth/login", json={"key": rig.keys["read"]})).status_code == 200
        assert (await c.get("/api/v1/status")).status_code == 200
        revoke(rig, "read")
        rig.app.state.authenticator.forget_cached()
        assert (await c.get("/api/v1/status")).status_code == 401


async def test_control_actions_are_audited_and_admin_readable(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    consumer = CommandConsumer(rig.db, rig.queue)
    consumer.start()
    try:
        async with _client(rig.app) as c:
            ctl = {"Authorization": f"Bearer {rig.keys['control']}"}
            assert (
                await c.post("/api/v1/control/risk-limits", json={"max_drawdown": "0.15"}, headers=ctl)
            ).is_success
            assert (
                await c.post("/api/v1/control/close", json={"symbol": "XRP/USDT"}, headers=ctl)
            ).status_code == 404
            read = await c.post(
                "/api/v1/control/kill-switch", headers={"Authorization": f"Bearer {rig.keys['read']}"}
            )
            assert read.status_code == 403
            bad = await c.post("/api/v1/control/risk-limits", json={"max_drawdown": "2"}, headers=ctl)
            assert bad.status_code == 422
            audit = (
                await c.get("/api/v1/audit", headers={"Authorization": f"Bearer {rig.keys['admin']}"})
            ).json()
            risk = (await c.get("/api/v1/risk", headers=ctl)).json()
            beta = await c.get("/api/v1/audit", headers={"Authorization": f"Bearer {rig.keys['beta_admin']}"})
        ctl_id, read_id = str(rig.extras["key_ids"]["control"]), str(rig.extras["key_ids"]["read"])
        audit = [a for a in audit if not a["action"].startswith("key.")]  # key creation is audited too
        refused_limits, refused_read = audit[0], audit[1]
        assert (refused_limits["action"], refused_limits["params"], refused_limits["key_id"]) == (
            "update_risk_limits", {"max_drawdown": "2"}, ctl_id
        )
        assert refused_limits["result"].startswith("refused: ") and "max_drawdown" in refused_limits["result"]
        assert [(a["action"], a["params"], a["result"], a["key_id"]) for a in audit[1:]] == [
            ("kill_switch", {}, "refused: this key has scope 'read'; 'control' is needed", read_id),
            ("close_position", {"symbol": "XRP/USDT"}, "not found: no open position in XRP/USDT", ctl_id),
            ("update_risk_limits", {"max_drawdown": "0.15"}, "ok: risk limits updated", ctl_id),
        ]
        assert refused_read["tenant_id"] == audit[2]["tenant_id"]
        assert risk["limits"]["max_drawdown"] == "0.15"  # the engine's published limits are shown
        assert beta.json() and {a["tenant_id"] for a in beta.json()} == {"beta"}  # only its own key creations
        assert {a["action"] for a in beta.json()} == {"key.create"}
        assert isinstance(consumer.received[0], UpdateRiskLimits)
    finally:
        await consumer.stop()


async def test_money_is_strings_and_time_is_epoch_ms(tmp_path: Path) -> None:
    rig = build_rig(tmp_path)
    async with _client(rig.app) as c:
        h = {"Authorization": f"Bearer {rig.keys['read']}"}
        pos = (await c.get("/api/v1/positions", headers=h)).json()
        trades = (await c.get("/api/v1/trades", headers=h)).json()
        cfg = (await c.get("/api/v1/config", headers=h)).json()
    btc = next(p for p in pos if p["symbol"] == "BTC/USDT")
    assert btc["amount"] == "0.05" and btc["unrealized_pnl"] == "62.020" and isinstance(btc["opened_ms"], int)
    rt = next(t for t in trades if t["symbol"] == "BTC/USDT")
    assert rt["exit_price"] == "62380.5" and rt["pnl"] == "35.220"
    assert cfg["exchange"]["pairs"] == ["BTC/USDT", "ETH/USDT"]


def test_redaction_masks_secret_keys_and_url_passwords() -> None:
    out = redact_value(
        "", {"storage": {"url": "postgresql://bot:hunter2@db/aitrader"}, "x": {"api_secret": "s"}}
    )
    assert out == {"storage": {"url": f"postgresql://{MASK}@db/aitrader"}, "x": {"api_secret": MASK}}


def test_live_state_is_built_once_per_interval_for_all_sockets(tmp_path: Path) -> None:
    rig = build_rig(tmp_path, live_interval_s=0.5)
    hub = rig.app.state.hub
    with TestClient(rig.app) as client:
        h = {"Authorization": f"Bearer {rig.keys['read']}"}
        with (
            client.websocket_connect("/ws/live", headers=h) as a,
            client.websocket_connect("/ws/live", headers=h) as b,
        ):
            seqs_a = [json.loads(a.receive_text())["seq"] for _ in range(3)]
            seqs_b = [json.loads(b.receive_text())["seq"] for _ in range(2)]
            builds = hub.builds("alpha")
        # both sockets see the same sequence; builds are shared, not per socket
        assert seqs_a == sorted(seqs_a) and seqs_a[-1] - seqs_a[0] == 2
        assert set(seqs_b) <= set(range(1, builds + 1))
        assert builds <= seqs_a[-1] + 1


def test_public_bind_needs_tls_or_explicit_override(tmp_path: Path) -> None:
    api = ApiConfig()
    check_bind("127.0.0.1", api, False)
    check_bind("::1", api, False)
    with pytest.raises(ConfigError, match="without TLS"):
        check_bind("0.0.0.0", api, False)
    check_bind("0.0.0.0", api, True)
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    check_bind("0.0.0.0", ApiConfig(tls_certfile=cert, tls_keyfile=key), False)
