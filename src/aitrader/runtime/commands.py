"""CommandHandler: control commands (API, dashboard, Telegram) applied to the running engine.

Commands arrive on the `core.commands.CommandQueue` and are applied between candles, on the event
loop that runs the engine, so a command never interleaves with a candle half-handled. Each answer
resolves the sender's future (the API waits for it briefly); after each command the session
persists what changed and republishes state, so the dashboard shows the effect at once.

Closing goes through the engine's own exit path (protective orders cancelled first, reduce-only
market order), the same as a strategy exit, so a manual close is persisted and recorded like one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aitrader.core.commands import (
    AnyCommand,
    CloseAll,
    ClosePosition,
    CommandQueue,
    CommandResult,
    KillSwitch,
    PauseEntries,
    ResumeEntries,
    UpdateRiskLimits,
)
from aitrader.core.errors import AitraderError
from aitrader.core.orders import OrderPurpose
from aitrader.engine.engine import Engine
from aitrader.runtime.supervisor import TaskContext

log = logging.getLogger(__name__)

AfterCommand = Callable[[AnyCommand, CommandResult], Awaitable[None]]


class CommandHandler:
    def __init__(
        self,
        tenant_id: str,
        engine: Engine,
        after: AfterCommand | None = None,
        lock: asyncio.Lock | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.engine = engine
        self.after = after
        self.lock = lock or asyncio.Lock()
        self.handled: list[tuple[str, bool]] = []

    @property
    def risk(self) -> Any:
        return self.engine.risk

    def apply(self, cmd: AnyCommand) -> CommandResult:
        if cmd.tenant_id != self.tenant_id:
            return CommandResult(False, f"this engine runs tenant {self.tenant_id!r}, not {cmd.tenant_id!r}")
        try:
            return self._apply(cmd)
        except AitraderError as e:
            return CommandResult(False, str(e))

    def _apply(self, cmd: AnyCommand) -> CommandResult:
        eng = self.engine
        if isinstance(cmd, PauseEntries):
            self.risk.pause(f"paused by {cmd.requested_by}")
            return CommandResult(True, "entries paused")
        if isinstance(cmd, ResumeEntries):
            self.risk.resume()
            extra = " (kill switch still on: restart to clear it)" if self.risk.killed else ""
            return CommandResult(True, "entries resumed" + extra)
        if isinstance(cmd, ClosePosition):
            if eng.om.position(cmd.symbol) is None:
                return CommandResult(False, f"no open position in {cmd.symbol}")
            eng._exit(cmd.symbol, "operator")
            return CommandResult(True, f"closing {cmd.symbol} at market")
        if isinstance(cmd, CloseAll):
            symbols = sorted(eng.om.positions())
            for s in symbols:
                eng._exit(s, "operator")
            return CommandResult(True, f"closing {len(symbols)} position(s) at market")
        if isinstance(cmd, KillSwitch):
            self.risk.kill(f"kill switch by {cmd.requested_by}")
            for o in eng.om.open_orders():
                if o.request.purpose is OrderPurpose.ENTRY:
                    eng.om.cancel(o.request.client_id)
            symbols = sorted(eng.om.positions())
            for s in symbols:
                eng._exit(s, "risk")
            eng._pump()
            return CommandResult(True, f"kill switch on: entries refused, closing {len(symbols)} position(s)")
        if isinstance(cmd, UpdateRiskLimits):
            cfg = self.risk.update_limits(**cmd.as_dict())
            return CommandResult(
                True, "risk limits updated: " + ", ".join(f"{k}={getattr(cfg, k)}" for k, _ in cmd.limits)
            )
        return CommandResult(False, f"unknown command {type(cmd).__name__}")

    async def run(self, queue: CommandQueue, ctx: TaskContext) -> None:
        while True:
            pending = await queue.get()
            ctx.beat()
            async with self.lock:
                result = self.apply(pending.command)
                if self.after is not None:
                    await self.after(pending.command, result)
            self.handled.append((pending.command.action, result.ok))
            log.info(
                "command %s by %s: %s", pending.command.action, pending.command.requested_by, result.message
            )
            if not pending.reply.done():
                pending.reply.set_result(result)
