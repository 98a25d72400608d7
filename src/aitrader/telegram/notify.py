"""Push notifications to the allowed chats: fills and alerts.

Sending never raises into the caller (the engine's event path must not fail because Telegram is
down): a failed send is logged and counted in the return value.
"""

from __future__ import annotations

import logging

from telegram.error import TelegramError

from aitrader.core.orders import Fill
from aitrader.telegram.format import fill_text
from telegram import Bot

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, bot: Bot, chat_ids: list[int]) -> None:
        self.bot = bot
        self.chat_ids = list(chat_ids)

    async def send(self, text: str) -> int:
        """Send `text` to every allowed chat; returns how many sends succeeded."""
        ok = 0
        for chat_id in self.chat_ids:
            try:
                await self.bot.send_message(chat_id, text)
                ok += 1
            except TelegramError as e:
                log.warning("telegram: could not notify chat %s: %s", chat_id, e)
        return ok

    async def fill(self, fill: Fill) -> int:
        return await self.send(fill_text(fill))

    async def alert(self, text: str) -> int:
        return await self.send(f"⚠ alert: {text}")
