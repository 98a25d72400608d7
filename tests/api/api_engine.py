"""The engine's side of the command queue for tests: consumes commands like the engine does.

Records every command it receives (tests assert type, tenant and actor) and applies the ones that
change published state to storage the way the engine does (entries paused, risk limits), then answers.
"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import Engine

from aitrader.core.commands import (
    AnyCommand,
    ClosePosition,
    CommandQueue,
    CommandResult,
    PauseEntries,
    ResumeEntries,
    UpdateRiskLimits,
)
from aitrader.core.engine_state import ENGINE_NS, RISK_LIMITS_KEY, STATUS_KEY
from aitrader.storage.repository import tenant_scope


class CommandConsumer:
    def __init__(self, db: Engine, queue: CommandQueue) -> None:
        self.db = db
        self.queue = queue
        self.received: list[AnyCommand] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            pending = await self.queue.get()
            cmd = pending.command
            self.received.append(cmd)
            result = await asyncio.to_thread(self._apply, cmd)
            if not pending.reply.done():
                pending.reply.set_result(result)

    def _apply(self, cmd: AnyCommand) -> CommandResult:
        with tenant_scope(self.db, cmd.tenant_id, write=True) as t:
            if isinstance(cmd, PauseEntries | ResumeEntries):
                st = dict(t.load_state(ENGINE_NS, STATUS_KEY, {}) or {})
                st["entries_paused"] = isinstance(cmd, PauseEntries)
                t.save_state(ENGINE_NS, STATUS_KEY, st)
                return CommandResult(True, "entries paused" if st["entries_paused"] else "entries resumed")
            if isinstance(cmd, UpdateRiskLimits):
                t.save_state(ENGINE_NS, RISK_LIMITS_KEY, {k: str(v) for k, v in cmd.limits})
                return CommandResult(True, "risk limits updated")
            if isinstance(cmd, ClosePosition):
                return CommandResult(True, f"closing {cmd.symbol}")
            return CommandResult(True, f"{cmd.action} accepted")
