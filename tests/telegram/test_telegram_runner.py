"""The bot as `aitrader api` runs it: built by `api.wiring.build_app` from settings, token from the
environment, started and stopped by the served app's lifespan, against our loopback Bot API server."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from api_engine import CommandConsumer
from api_seed import ALPHA, make_db, seed
from botapi_server import BotApiServer

from aitrader.api.control import EngineControl
from aitrader.api.wiring import build_app
from aitrader.config import Settings
from aitrader.core.commands import PauseEntries
from aitrader.core.errors import ConfigError
from aitrader.storage.repository import tenant_scope
from aitrader.telegram.runner import TOKEN_ENV, start_telegram

TOKEN = "123456:RUNNER-token"
OWNER, STRANGER = 111, 999


def _settings(tmp_path: Path, **telegram: Any) -> Settings:
    return Settings(tenant=ALPHA, data={"datadir": str(tmp_path / "data")}, telegram=telegram)


def _no_control(tenant_id: str) -> EngineControl:
    raise AssertionError("a refused configuration must not build a control")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_disabled_builds_nothing_and_bad_config_is_one_line(tmp_path: Path) -> None:
    assert start_telegram(_settings(tmp_path), _no_control, env={TOKEN_ENV: TOKEN}) is None
    enabled = _settings(tmp_path, enabled=True, allowed_chat_ids=[OWNER])
    with pytest.raises(ConfigError) as missing:
        start_telegram(enabled, _no_control, env={})
    assert TOKEN_ENV in str(missing.value) and "\n" not in str(missing.value)
    with pytest.raises(ConfigError, match="allowed_chat_ids"):
        start_telegram(_settings(tmp_path, enabled=True), _no_control, env={TOKEN_ENV: TOKEN})
    with pytest.raises(ValueError, match="secrets must not be in the config file"):
        Settings(telegram={"enabled": True, "token": TOKEN})  # the file cannot carry it either


async def test_served_app_runs_the_bot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = BotApiServer(TOKEN)
    base = await server.start()
    db = make_db(tmp_path / "tg.db")
    seed(db)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = _settings(tmp_path, enabled=True, allowed_chat_ids=[OWNER], base_url=base)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    consumer = CommandConsumer(db, queue)
    consumer.start()
    app = build_app(settings, db, commands=queue)
    port = _free_port()
    api = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(api.serve())
    try:
        while not api.started:
            assert not serving.done(), "uvicorn stopped during startup"
            await asyncio.sleep(0.02)
        handle = app.state.telegram
        assert handle is not None and handle.running
        async with httpx.AsyncClient() as http:  # the API is up next to the bot
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200

        server.push_message(STRANGER, "/status")
        server.push_message(STRANGER, "/pause")
        server.push_message(OWNER, "/status")
        sent = await server.wait_sent(OWNER, 1)
        assert "aitrader [alpha] paper: running, trading" in sent[0]["text"]
        assert "open positions 2" in sent[0]["text"]

        server.push_message(OWNER, "/pause")
        sent = await server.wait_sent(OWNER, 2)
        assert sent[1]["text"].startswith("Pause new entries?")
        await asyncio.sleep(0.2)
        assert consumer.received == []  # neither the stranger's /pause nor an unconfirmed one
        button = sent[1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        server.push_callback(OWNER, button)
        sent = await server.wait_sent(OWNER, 3)
        assert sent[2]["text"] == "pause_entries: ok: entries paused"
        assert [type(c) for c in consumer.received] == [PauseEntries]
        assert consumer.received[0].requested_by == f"telegram:{OWNER}"
        with tenant_scope(db, ALPHA) as t:
            assert [(a.action, a.actor) for a in t.list_audit()] == [("pause_entries", f"telegram:{OWNER}")]
        assert server.sent_to(STRANGER) == []
    finally:
        api.should_exit = True
        await asyncio.wait_for(serving, 15)
        await consumer.stop()
    # the lifespan stopped the bot: no more polling once the server is gone
    assert not app.state.telegram.running
    calls = len(server.calls)
    await asyncio.sleep(0.3)
    assert len(server.calls) == calls
    await server.stop()
