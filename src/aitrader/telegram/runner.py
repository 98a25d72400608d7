"""Run the Telegram bot next to the API: `start_telegram(settings, control_factory)` -> a handle.

Split in two steps on purpose. `start_telegram` is synchronous and checks the configuration (token
from the environment, a non-empty allow-list), so a mistake is one error line before any server
binds. `TelegramHandle.start()` / `.stop()` run on the serving event loop (the API's lifespan calls
them), because python-telegram-bot's polling lives on that loop.

The token comes only from `AITRADER_TELEGRAM_TOKEN`, never from the config file (the config loader
refuses secrets in the file anyway). A Bot API that is unreachable at start does not take the API
down with it: the bot keeps retrying in the background with backoff, while a token the Bot API
rejects stops startup, since retrying cannot fix it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from aitrader.api.control import ControlFactory
from aitrader.api.ports import AuditLog
from aitrader.config import Settings
from aitrader.core.errors import ConfigError
from aitrader.telegram.bot import build_application
from aitrader.telegram.notify import Notifier

log = logging.getLogger(__name__)

TOKEN_ENV = "AITRADER_TELEGRAM_TOKEN"
MAX_BACKOFF_S = 60.0


class TelegramHandle:
    """A configured bot: `start()` begins long polling, `stop()` ends it; `notifier` pushes messages."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        chat_ids: list[int],
        *,
        poll_timeout_s: int = 10,
    ) -> None:
        self.app = app
        self.chat_ids = list(chat_ids)
        self.poll_timeout_s = poll_timeout_s
        self.running = False
        self._retry: asyncio.Task[None] | None = None

    @property
    def notifier(self) -> Notifier:
        return Notifier(self.app.bot, self.chat_ids)

    async def start(self) -> None:
        """First attempt now (a rejected token raises ConfigError); network trouble retries later."""
        try:
            await self._start_once()
        except InvalidToken:
            raise ConfigError(f"telegram: the Bot API rejected the token in {TOKEN_ENV}") from None
        except TelegramError as e:
            log.warning("telegram: cannot reach the Bot API (%s); retrying in the background", e)
            self._retry = asyncio.create_task(self._keep_trying(), name="telegram-start")

    async def _start_once(self) -> None:
        await self.app.initialize()  # getMe: checks the token; a no-op once it has succeeded
        if not self.app.running:
            await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(timeout=self.poll_timeout_s, drop_pending_updates=False)
        self.running = True

    async def _keep_trying(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._start_once()
            except InvalidToken:
                log.error("telegram: the Bot API rejected the token in %s; the bot stays off", TOKEN_ENV)
                return
            except TelegramError as e:
                delay = min(MAX_BACKOFF_S, delay * 2)
                log.warning("telegram: still cannot reach the Bot API (%s); next try in %.0f s", e, delay)
            else:
                log.info("telegram: bot started")
                return

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
            self._retry = None
        if not self.running:
            return
        self.running = False
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()


def telegram_token(env: Mapping[str, str] | None = None) -> str:
    token = (env if env is not None else os.environ).get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"telegram.enabled is true but {TOKEN_ENV} is not set (tokens never come from the config file)"
        )
    return token


def start_telegram(
    settings: Settings,
    control_factory: ControlFactory,
    *,
    audit: AuditLog | None = None,
    env: Mapping[str, str] | None = None,
    poll_timeout_s: int = 10,
) -> TelegramHandle | None:
    """The bot for `settings.tenant`, or None when `telegram.enabled` is false. Raises ConfigError."""
    tg = settings.telegram
    if not tg.enabled:
        return None
    token = telegram_token(env)
    if not tg.allowed_chat_ids:
        raise ConfigError(
            "telegram.enabled is true but telegram.allowed_chat_ids is empty: the bot would serve nobody"
        )
    app = build_application(
        token,
        control_factory,
        settings.tenant,
        tg.allowed_chat_ids,
        base_url=tg.base_url,
        audit=audit,
    )
    return TelegramHandle(app, tg.allowed_chat_ids, poll_timeout_s=poll_timeout_s)
