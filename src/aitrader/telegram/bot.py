"""The Telegram bot: read commands, guarded control commands, for one tenant.

Only chats in `allowed_chat_ids` are served; anything else (messages, button presses) is ignored
without a reply, and logged, so a stranger who finds the bot learns nothing, not even that it is
alive. Every control command (/pause, /resume, /close, /killswitch) only asks for confirmation
(inline button or `/confirm CODE`), because a chat is easy to mistype in and a phone easy to borrow;
see `confirm.py`. Every control action, confirmed or not, goes through the same `EngineControl` as the
API and into the same audit log, with actor `telegram:<chat id>`.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from aitrader.api.control import ControlFactory, EngineControl
from aitrader.api.ports import AuditLog
from aitrader.core.commands import CommandResult
from aitrader.core.errors import AitraderError
from aitrader.core.symbols import split_symbol
from aitrader.core.time import now_ms
from aitrader.telegram import format as fmt
from aitrader.telegram.confirm import ConfirmationBook
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

log = logging.getLogger(__name__)

Ctx = ContextTypes.DEFAULT_TYPE
HELP = (
    "/status – engine state and equity\n/positions – open positions\n/pnl – profit and loss\n"
    "/pause – stop new entries\n/resume – allow entries again\n/close PAIR – close one position\n"
    "/killswitch – close everything and stop\n/confirm CODE – confirm a pending action"
)


class TelegramControl:
    """Handlers bound to one tenant's control, allow-list, confirmations and audit log."""

    def __init__(
        self,
        control: EngineControl,
        allowed_chat_ids: list[int],
        *,
        audit: AuditLog | None = None,
        confirmations: ConfirmationBook | None = None,
    ) -> None:
        self.control = control
        self.allowed = frozenset(allowed_chat_ids)
        self.audit = audit
        self.confirmations = confirmations or ConfirmationBook()

    # ------------------------------------------------------------------ wiring
    def install(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        allowed = filters.Chat(chat_id=list(self.allowed)) if self.allowed else None
        handlers = {
            "start": self.help,
            "help": self.help,
            "status": self.status,
            "positions": self.positions,
            "pnl": self.pnl,
            "pause": self.pause,
            "resume": self.resume,
            "close": self.close,
            "killswitch": self.killswitch,
            "confirm": self.confirm,
        }
        if allowed is not None:
            for name, cb in handlers.items():
                app.add_handler(CommandHandler(name, cb, filters=allowed))
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^confirm:"))
        app.add_handler(MessageHandler(filters.ALL, self.ignored), group=1)

    def _chat_allowed(self, update: Update) -> bool:
        chat = update.effective_chat
        return chat is not None and chat.id in self.allowed

    async def ignored(self, update: Update, context: Ctx) -> None:
        if not self._chat_allowed(update):
            chat = update.effective_chat
            user = update.effective_user
            log.warning(
                "telegram: ignored update from chat %s (user %s) not in the allow-list",
                chat.id if chat else None,
                user.id if user else None,
            )

    async def _reply(self, update: Update, text: str, **kwargs: Any) -> None:
        if update.effective_chat is not None:
            await update.get_bot().send_message(update.effective_chat.id, text, **kwargs)

    # ------------------------------------------------------------------ reads
    async def help(self, update: Update, context: Ctx) -> None:
        await self._reply(update, HELP)

    async def status(self, update: Update, context: Ctx) -> None:
        await self._reply(update, fmt.status_text(await self.control.status()))

    async def positions(self, update: Update, context: Ctx) -> None:
        await self._reply(update, fmt.positions_text(await self.control.positions()))

    async def pnl(self, update: Update, context: Ctx) -> None:
        await self._reply(update, fmt.pnl_text(await self.control.status()))

    # ------------------------------------------------------------------ actions
    async def pause(self, update: Update, context: Ctx) -> None:
        await self._ask(update, "pause_entries", {}, "Pause new entries? Open positions keep their exits.")

    async def resume(self, update: Update, context: Ctx) -> None:
        await self._ask(update, "resume_entries", {}, "Resume entries? The engine may open positions again.")

    async def close(self, update: Update, context: Ctx) -> None:
        args = context.args or []
        if len(args) != 1:
            await self._reply(update, "usage: /close PAIR (e.g. /close BTC/USDT)")
            return
        symbol = args[0].upper()
        try:
            split_symbol(symbol)
        except AitraderError as e:
            await self._reply(update, str(e))
            return
        await self._ask(
            update, "close_position", {"symbol": symbol}, f"Close the {symbol} position at market?"
        )

    async def killswitch(self, update: Update, context: Ctx) -> None:
        await self._ask(
            update,
            "kill_switch",
            {},
            "KILL SWITCH: cancel every order, close every position and stop trading?",
        )

    async def _ask(self, update: Update, action: str, params: dict[str, Any], question: str) -> None:
        assert update.effective_chat is not None
        code = self.confirmations.request(update.effective_chat.id, action, params)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Confirm", callback_data=f"confirm:{code}")]])
        ttl = int(self.confirmations.ttl_s)
        await self._reply(
            update,
            f"{question}\nPress Confirm or send /confirm {code} within {ttl} s.",
            reply_markup=keyboard,
        )

    async def confirm(self, update: Update, context: Ctx) -> None:
        args = context.args or []
        if len(args) != 1:
            await self._reply(update, "usage: /confirm CODE")
            return
        await self._confirm_code(update, args[0])

    async def on_button(self, update: Update, context: Ctx) -> None:
        query = update.callback_query
        if query is None:
            return
        if not self._chat_allowed(update):
            await self.ignored(update, context)
            return
        await query.answer()
        await self._confirm_code(update, (query.data or "").removeprefix("confirm:"))

    async def _confirm_code(self, update: Update, code: str) -> None:
        assert update.effective_chat is not None
        pending = self.confirmations.take(update.effective_chat.id, code)
        if pending is None:
            await self._reply(update, "unknown or expired confirmation code; nothing was done")
            return
        await self._run(update, pending.action, pending.params)

    async def _run(self, update: Update, action: str, params: dict[str, Any]) -> None:
        assert update.effective_chat is not None
        actor = f"telegram:{update.effective_chat.id}"
        c = self.control
        try:
            result: CommandResult
            if action == "pause_entries":
                result = await c.pause_entries(actor=actor)
            elif action == "resume_entries":
                result = await c.resume_entries(actor=actor)
            elif action == "close_position":
                result = await c.close_position(str(params["symbol"]), actor=actor)
            elif action == "kill_switch":
                result = await c.kill_switch(actor=actor)
            else:
                raise AitraderError(f"unknown action {action}")
            outcome = ("ok: " if result.ok else "refused: ") + result.message
        except AitraderError as e:
            outcome = f"failed: {e}"
        if self.audit is not None:
            audit = self.audit
            await run_in_threadpool(
                lambda: audit.append(
                    tenant_id=c.tenant_id,
                    key_id=None,
                    actor=actor,
                    action=action,
                    params=params,
                    result=outcome,
                    ts=now_ms(),
                )
            )
        await self._reply(update, f"{action}: {outcome}")


def build_application(
    token: str,
    control_factory: ControlFactory,
    tenant_id: str,
    allowed_chat_ids: list[int],
    *,
    base_url: str | None = None,
    audit: AuditLog | None = None,
    confirm_ttl_s: float = 60.0,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A ready-to-start Application; `base_url` points it at another Bot API server (tests, proxies)."""
    builder = ApplicationBuilder().token(token)
    if base_url:
        builder = builder.base_url(base_url.rstrip("/") + "/bot")
    app = builder.build()
    TelegramControl(
        control_factory(tenant_id),
        allowed_chat_ids,
        audit=audit,
        confirmations=ConfirmationBook(confirm_ttl_s),
    ).install(app)
    return app
