"""The Telegram bot against our loopback Bot API server, backed by a real seeded SQLite database."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from api_engine import CommandConsumer
from api_seed import ALPHA, make_db, seed
from botapi_server import BotApiServer
from sqlalchemy import Engine

from aitrader.api.control import CommandBus, EngineControl
from aitrader.api.store_control import StoreBackedControl
from aitrader.api.store_ports import StoreAuditLog
from aitrader.config import Settings
from aitrader.core.commands import ClosePosition, KillSwitch, PauseEntries
from aitrader.core.orders import Fill, Side
from aitrader.storage.repository import tenant_scope
from aitrader.telegram.bot import build_application
from aitrader.telegram.notify import Notifier
from telegram import Bot

TOKEN = "123456:TEST-token"
OWNER, STRANGER = 111, 999


@dataclass
class Rig:
    server: BotApiServer
    consumer: CommandConsumer
    db: Engine


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    db = make_db(tmp_path / "tg.db")
    seed(db)
    settings = Settings(tenant=ALPHA)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    bus = CommandBus(queue, reply_timeout_s=5)

    def factory(tenant_id: str) -> EngineControl:
        return StoreBackedControl(tenant_id, db=db, settings=settings, bus=bus)

    server = BotApiServer(TOKEN)
    base = await server.start()
    consumer = CommandConsumer(db, queue)
    consumer.start()
    app = build_application(
        TOKEN, factory, ALPHA, [OWNER], base_url=base, audit=StoreAuditLog(db), confirm_ttl_s=30
    )
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        yield Rig(server, consumer, db)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await consumer.stop()
        await server.stop()


async def test_status_positions_pnl_answer_with_real_state(rig: Rig) -> None:
    rig.server.push_message(OWNER, "/status")
    rig.server.push_message(OWNER, "/positions")
    rig.server.push_message(OWNER, "/pnl")
    sent = await rig.server.wait_sent(OWNER, 3)
    texts = [m["text"] for m in sent]
    assert "aitrader [alpha] paper: running, trading" in texts[0]
    assert "open positions 2, open orders 2" in texts[0]
    assert "BTC/USDT long 0.05 @ 63010.1" in texts[1] and "ETH/USDT short 0.8" in texts[1]
    # uPnL of the BTC long: (64250.5 - 63010.1) * 0.05 = 62.02
    assert "uPnL 62.02" in texts[1]
    assert texts[2].startswith("PnL today")


async def test_stranger_is_ignored_and_logged(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aitrader.telegram.bot")
    rig.server.push_message(STRANGER, "/killswitch")
    rig.server.push_message(STRANGER, "/status")
    rig.server.push_message(OWNER, "/status")  # processed after the stranger's updates
    await rig.server.wait_sent(OWNER, 1)
    await asyncio.sleep(0.1)
    assert rig.server.sent_to(STRANGER) == []
    assert rig.consumer.received == []
    assert any("999" in r.getMessage() and "allow-list" in r.getMessage() for r in caplog.records)


async def test_pause_needs_confirmation_then_runs_and_is_audited(rig: Rig) -> None:
    rig.server.push_message(OWNER, "/pause")
    sent = await rig.server.wait_sent(OWNER, 1)
    assert sent[0]["text"].startswith("Pause new entries?")
    await asyncio.sleep(0.1)
    assert rig.consumer.received == []  # asked, not done
    code = sent[0]["text"].split("/confirm ")[1].split()[0]
    rig.server.push_message(OWNER, f"/confirm {code}")
    sent = await rig.server.wait_sent(OWNER, 2)
    assert sent[1]["text"] == "pause_entries: ok: entries paused"
    assert len(rig.consumer.received) == 1
    cmd = rig.consumer.received[0]
    assert (
        isinstance(cmd, PauseEntries) and cmd.tenant_id == ALPHA and cmd.requested_by == f"telegram:{OWNER}"
    )
    with tenant_scope(rig.db, ALPHA) as t:
        audit = t.list_audit()
    assert [(a.action, a.actor, a.result) for a in audit] == [
        ("pause_entries", f"telegram:{OWNER}", "ok: entries paused")
    ]


async def test_killswitch_needs_confirmation_by_button(rig: Rig) -> None:
    rig.server.push_message(OWNER, "/killswitch")
    sent = await rig.server.wait_sent(OWNER, 1)
    assert "KILL SWITCH" in sent[0]["text"]
    assert rig.consumer.received == []  # nothing happens before confirmation
    button = sent[0]["reply_markup"]["inline_keyboard"][0][0]
    rig.server.push_callback(STRANGER, button["callback_data"])  # a stranger cannot press it
    rig.server.push_callback(OWNER, button["callback_data"])
    sent = await rig.server.wait_sent(OWNER, 2)
    assert sent[1]["text"] == "kill_switch: ok: kill_switch accepted"
    assert [type(c) for c in rig.consumer.received] == [KillSwitch]
    # the code is single-use: pressing again does nothing
    rig.server.push_callback(OWNER, button["callback_data"])
    sent = await rig.server.wait_sent(OWNER, 3)
    assert "unknown or expired" in sent[2]["text"]
    assert len(rig.consumer.received) == 1
    assert rig.server.answered  # the button press was acknowledged


async def test_close_with_typed_confirm_code_and_unknown_pair(rig: Rig) -> None:
    rig.server.push_message(OWNER, "/close btc/usdt")
    sent = await rig.server.wait_sent(OWNER, 1)
    code = sent[0]["text"].split("/confirm ")[1].split()[0]
    rig.server.push_message(OWNER, "/confirm WRONG1")
    rig.server.push_message(OWNER, f"/confirm {code}")
    sent = await rig.server.wait_sent(OWNER, 3)
    assert "unknown or expired" in sent[1]["text"]
    assert sent[2]["text"] == "close_position: ok: closing BTC/USDT"
    assert [(type(c), getattr(c, "symbol", None)) for c in rig.consumer.received] == [
        (ClosePosition, "BTC/USDT")
    ]
    # a pair with no open position is refused by the control, not sent to the engine
    rig.server.push_message(OWNER, "/close DOGE/USDT")
    sent = await rig.server.wait_sent(OWNER, 4)
    code = sent[3]["text"].split("/confirm ")[1].split()[0]
    rig.server.push_message(OWNER, f"/confirm {code}")
    sent = await rig.server.wait_sent(OWNER, 5)
    assert sent[4]["text"] == "close_position: failed: no open position in DOGE/USDT"
    assert len(rig.consumer.received) == 1


async def test_notifier_sends_fills_and_alerts_to_allowed_chats(rig: Rig) -> None:
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{rig.server.port}/bot")
    async with bot:
        n = Notifier(bot, [OWNER, 222])
        fill = Fill(
            fill_id="x",
            client_id="c",
            symbol="BTC/USDT",
            side=Side.BUY,
            amount=Decimal("0.01"),
            price=Decimal("64000.5"),
            fee=Decimal("0.64"),
            fee_currency="USDT",
            ts=1_700_000_000_000,
        )
        assert await n.fill(fill) == 2
        assert await n.alert("daily loss limit reached") == 2
    assert rig.server.sent_to(222)[0]["text"] == (
        "fill: buy 0.01 BTC/USDT @ 64000.5 (fee 0.64 USDT) at 2023-11-14T22:13:20Z"
    )
    assert "daily loss limit reached" in rig.server.sent_to(OWNER)[-1]["text"]
