"""A paper session with the API and Telegram on: every fill reaches the allowed chat through our
loopback Bot API server (the bot's `base_url` pointed at it), without holding the engine."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "telegram"))

from botapi_server import BotApiServer

from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.telegram.runner import TOKEN_ENV
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator

TOKEN = "123456:SESSION-token"
OWNER = 4242
N = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_fills_are_sent_to_the_allowed_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bot = BotApiServer(TOKEN)
    base = await bot.start()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    feeds = [series("ETH_BTC", N), series("XLM_BTC", N)]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[0])
    await sim.start()
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    settings = settings_for(
        sim,
        [s.symbol for s in feeds],
        url,
        telegram={"enabled": True, "allowed_chat_ids": [OWNER], "base_url": base},
    )
    opts = SessionOptions(
        mode="paper", markets=MarketRegistry.load("bittrex"), api=True, api_port=_free_port()
    )
    session = Session(settings, make_engine(url), opts)
    async with running(session, sim, bot.stop):
        await eventually(lambda: session.notifier is not None, what="the API's bot attached")
        for k in range(1, N):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: session.candles >= 2 * k, what=f"candle {k}")  # type: ignore[misc]
        fills = sum(len(o.fills) for o in session.engine.om.orders())
        assert fills >= 3  # the parity replay trades: there is something to announce
        sent = await bot.wait_sent(OWNER, fills, timeout=10.0)
        texts = [m["text"] for m in sent]
        assert sum(t.startswith("fill: ") for t in texts) == fills
        assert any("ETH/BTC" in t for t in texts)
