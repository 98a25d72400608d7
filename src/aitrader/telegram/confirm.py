"""Pending confirmations for destructive Telegram commands (/close, /killswitch).

A destructive command does nothing at first: it gets a short random code, bound to the chat that
asked and valid for `ttl_s`. Only that chat pressing the inline button or sending `/confirm CODE`
in time runs it, once; a code is single-use, so a replayed button press is refused.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are typed by hand


@dataclass(frozen=True, slots=True)
class Pending:
    chat_id: int
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    expires: float = 0.0


class ConfirmationBook:
    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._pending: dict[str, Pending] = {}

    def request(self, chat_id: int, action: str, params: dict[str, Any] | None = None) -> str:
        self._expire()
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        self._pending[code] = Pending(chat_id, action, dict(params or {}), self.clock() + self.ttl_s)
        return code

    def take(self, chat_id: int, code: str) -> Pending | None:
        """The pending action for this chat and code (removed), or None if unknown/expired/other chat."""
        self._expire()
        p = self._pending.get(code.strip().upper())
        if p is None or p.chat_id != chat_id:
            return None
        del self._pending[code.strip().upper()]
        return p

    def _expire(self) -> None:
        now = self.clock()
        for k in [k for k, p in self._pending.items() if p.expires <= now]:
            del self._pending[k]
