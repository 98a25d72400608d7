"""A loopback Telegram Bot API server of ours (aiohttp) for testing the bot without Telegram.

It speaks the subset python-telegram-bot uses: getMe, deleteWebhook, getUpdates (long poll, honouring
`offset` and `timeout`), sendMessage, answerCallbackQuery, setMyCommands. Tests push updates in with
`push_message` / `push_callback` and read what the bot sent from `sent`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from aiohttp import web

BOT_ID = 4242


class BotApiServer:
    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.answered: list[str] = []
        self.calls: list[str] = []
        self._next_update = 1
        self._next_message = 1000
        self._new = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ test side
    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}

    def push_message(self, chat_id: int, text: str, user_id: int | None = None) -> None:
        msg: dict[str, Any] = {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self._user(user_id or chat_id),
            "text": text,
        }
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._next_message += 1
        self._push({"message": msg})

    def push_callback(self, chat_id: int, data: str) -> None:
        self._push(
            {
                "callback_query": {
                    "id": f"cb{self._next_update}",
                    "from": self._user(chat_id),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": self._next_message,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "aitrader"},
                        "text": "confirm?",
                    },
                }
            }
        )

    def _push(self, body: dict[str, Any]) -> None:
        body["update_id"] = self._next_update
        self._next_update += 1
        self.updates.append(body)
        self._new.set()

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if int(m["chat_id"]) == chat_id]

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent_to(chat_id)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"bot sent {self.sent_to(chat_id)} to {chat_id}, expected {count} messages"
                )
            await asyncio.sleep(0.02)
        return self.sent_to(chat_id)

    # ------------------------------------------------------------------ Bot API
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            raw: dict[str, Any] = await request.json()
            return raw
        form = await request.post()
        out: dict[str, Any] = {}
        for k, v in form.items():
            s = str(v)
            try:
                out[k] = json.loads(s) if k != "text" else s
            except ValueError:
                out[k] = s
        return out

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        self.calls.append(method)
        params = await self._params(request)
        handler = getattr(self, "_m_" + method.lower(), None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        result = await handler(params)
        return web.json_response({"ok": True, "result": result})

    async def _m_getme(self, _p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "aitrader",
            "username": "aitrader_test_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        deadline = asyncio.get_running_loop().time() + min(timeout, 2.0)
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            if pending or asyncio.get_running_loop().time() >= deadline:
                return pending
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._new.wait(), max(0.01, deadline - asyncio.get_running_loop().time())
                )

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(p)
        self._next_message += 1
        return {
            "message_id": self._next_message,
            "date": int(time.time()),
            "chat": {"id": int(p["chat_id"]), "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "aitrader"},
            "text": p.get("text", ""),
        }

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        self.answered.append(str(p.get("callback_query_id")))
        return True
