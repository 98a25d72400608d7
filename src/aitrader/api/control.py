"""The seam between the control plane and the engine: `EngineControl`.

The API, dashboard and Telegram bot only ever talk to an `EngineControl` bound to one tenant (the
app asks its `ControlFactory` for the tenant of the authenticated key), so a handler cannot reach
another tenant's data even by mistake. Reads come from storage (what the engine persisted); actions
become typed commands on the engine's queue (`core.commands`) through a `CommandBus`, which waits
briefly for the engine's answer so the caller learns whether it worked.

`aitrader.api.store_control.StoreBackedControl` is the in-process implementation; a remote engine
would implement the same protocol over its own transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from aitrader.api import views
from aitrader.core.commands import AnyCommand, CommandQueue, CommandResult, PendingCommand, RiskLimitValue
from aitrader.core.errors import AitraderError


class NotFound(AitraderError):
    """The object does not exist for this tenant (another tenant's object is indistinguishable)."""


class EngineUnavailable(AitraderError):
    """No engine consumes commands for this tenant, or its queue is full."""


class EngineTimeout(AitraderError):
    """The command was queued but the engine did not confirm it in time."""


class EngineControl(Protocol):
    """Everything the control plane may read or do, for one tenant."""

    @property
    def tenant_id(self) -> str: ...

    async def status(self) -> views.Status: ...

    async def balances(self) -> list[views.Balance]: ...

    async def positions(self) -> list[views.Position]: ...

    async def orders(self, open_only: bool = True) -> list[views.OrderView]: ...

    async def trades(self, limit: int = 200) -> list[views.Trade]: ...

    async def equity_curve(self, since_ms: int | None = None) -> list[views.EquityPoint]: ...

    async def decisions(self, page: int = 1, page_size: int = 50) -> views.DecisionPage: ...

    async def strategy_metrics(self) -> list[views.StrategyMetric]: ...

    async def risk_status(self) -> views.RiskStatus: ...

    async def config_redacted(self) -> dict[str, Any]: ...

    async def candles(self, symbol: str, timeframe: str, limit: int = 300) -> list[views.Candle]: ...

    async def pause_entries(self, *, actor: str) -> CommandResult: ...

    async def resume_entries(self, *, actor: str) -> CommandResult: ...

    async def close_position(self, symbol: str, *, actor: str) -> CommandResult:
        """Raises NotFound when this tenant has no open position in `symbol`."""
        ...

    async def close_all(self, *, actor: str) -> CommandResult: ...

    async def kill_switch(self, *, actor: str) -> CommandResult: ...

    async def update_risk_limits(self, *, actor: str, **limits: RiskLimitValue) -> CommandResult: ...


ControlFactory = Callable[[str], EngineControl]
"""tenant_id -> the control bound to that tenant."""


class CommandBus:
    """Puts commands on the engine's queue and waits for the engine's answer.

    `queue` is None when no engine runs in this process (e.g. `aitrader api` alone): actions then
    fail with EngineUnavailable instead of vanishing into a queue nobody reads.
    """

    def __init__(self, queue: CommandQueue | None, *, reply_timeout_s: float = 5.0) -> None:
        self.queue = queue
        self.reply_timeout_s = reply_timeout_s

    async def send(self, command: AnyCommand) -> CommandResult:
        if self.queue is None:
            raise EngineUnavailable("no engine is running for this API; start it with `aitrader run`")
        reply: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait(PendingCommand(command, reply))
        except asyncio.QueueFull:
            raise EngineUnavailable("the engine's command queue is full; try again shortly") from None
        try:
            return await asyncio.wait_for(asyncio.shield(reply), self.reply_timeout_s)
        except TimeoutError:
            raise EngineTimeout(
                f"{command.action} was queued but the engine did not confirm it within "
                f"{self.reply_timeout_s:g} s; it will still run when the engine gets to it"
            ) from None
