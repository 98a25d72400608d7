"""Commands the control plane (API, dashboard, Telegram) sends to a running engine.

The API never touches engine state: it puts a typed command on the engine's command queue and
waits (briefly) for the engine's answer. Keeping the command types in `core` lets the engine consume
them without importing the API, so the dependency arrow stays one way (api -> core <- engine).

Every command carries the tenant it is for and who asked (an API key id or `telegram:<chat id>`),
so the engine can refuse a command for a tenant it does not run and the audit log can say who did
what.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from aitrader.core.time import now_ms


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every control command."""

    tenant_id: str
    requested_by: str
    command_id: str = field(default_factory=_new_id)
    ts: int = field(default_factory=now_ms)

    @property
    def action(self) -> str:
        """Stable snake_case name used in the audit log and in replies."""
        return _ACTION_NAMES[type(self)]


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseEntries(Command):
    """Stop opening new positions; open positions keep their stops and exits."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeEntries(Command):
    """Allow new entries again (does not undo a kill switch)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClosePosition(Command):
    """Close one open position at market."""

    symbol: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseAll(Command):
    """Close every open position at market (entries stay as they are)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitch(Command):
    """Cancel all orders, close all positions and refuse entries until an operator restarts."""


RiskLimitName = Literal[
    "risk_per_trade",
    "max_open_positions",
    "max_exposure_per_pair",
    "max_total_exposure",
    "daily_loss_limit",
    "max_drawdown",
]
RiskLimitValue = Decimal | int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRiskLimits(Command):
    """Change some risk limits; names are fields of `config.RiskConfig`, validated before sending."""

    limits: tuple[tuple[RiskLimitName, RiskLimitValue], ...]

    def as_dict(self) -> dict[str, RiskLimitValue]:
        return dict(self.limits)


AnyCommand = PauseEntries | ResumeEntries | ClosePosition | CloseAll | KillSwitch | UpdateRiskLimits

_ACTION_NAMES: dict[type[Command], str] = {
    PauseEntries: "pause_entries",
    ResumeEntries: "resume_entries",
    ClosePosition: "close_position",
    CloseAll: "close_all",
    KillSwitch: "kill_switch",
    UpdateRiskLimits: "update_risk_limits",
}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The engine's answer: `ok` False when it refused (e.g. no such position), with the reason."""

    ok: bool
    message: str


@dataclass(slots=True)
class PendingCommand:
    """What travels on the queue: the command and the future the engine resolves with its answer."""

    command: AnyCommand
    reply: asyncio.Future[CommandResult]


CommandQueue = asyncio.Queue[PendingCommand]
