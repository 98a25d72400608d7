"""Control actions (scope control and up): each becomes an engine command and an audit record.

Every attempt by a known key is audited, including refusals (a key without the control scope, risk
limits that break the config rules) and failures, with the key, tenant, parameters and the outcome;
the audit write happens before the answer, so an action the caller saw is always recorded. Requests
refused before a key is known (401, rate limit) or whose body does not parse (422 schema errors)
never reach a control route and are not audited.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aitrader.api import views
from aitrader.api.auth import Principal
from aitrader.api.control import EngineTimeout, EngineUnavailable, NotFound
from aitrader.api.routes.deps import SYMBOL_PATTERN, ControlPrincipal, audit_control, control_for, settings_of
from aitrader.config import RiskConfig, format_validation_error
from aitrader.core.commands import CommandResult
from aitrader.core.errors import AitraderError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/control", tags=["control"])


class ClosePositionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=3, max_length=64, pattern=SYMBOL_PATTERN, examples=["BTC/USDT"])


class RiskLimitsUpdate(BaseModel):
    """Any subset of the risk limits; the result must still be a valid `risk` configuration."""

    model_config = ConfigDict(extra="forbid")
    risk_per_trade: Decimal | None = Field(default=None, allow_inf_nan=False)
    max_open_positions: int | None = None
    max_exposure_per_pair: Decimal | None = Field(default=None, allow_inf_nan=False)
    max_total_exposure: Decimal | None = Field(default=None, allow_inf_nan=False)
    daily_loss_limit: Decimal | None = Field(default=None, allow_inf_nan=False)
    max_drawdown: Decimal | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _not_empty(self) -> RiskLimitsUpdate:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one limit to change")
        return self


async def _act(
    request: Request,
    p: Principal,
    action: str,
    params: dict[str, Any],
    call: Callable[[], Awaitable[CommandResult]],
) -> views.ActionResult:
    status_code = 200
    try:
        result = await call()
        outcome = ("ok: " if result.ok else "refused: ") + result.message
    except NotFound as e:
        status_code, outcome = 404, f"not found: {e}"
    except EngineUnavailable as e:
        status_code, outcome = 503, f"unavailable: {e}"
    except EngineTimeout as e:
        status_code, outcome = 504, f"timeout: {e}"
    except AitraderError as e:
        status_code, outcome = 400, f"error: {e}"
    await audit_control(request, p, action, params, outcome)
    if status_code != 200:
        raise HTTPException(status_code, outcome.split(": ", 1)[1])
    return views.ActionResult(ok=result.ok, action=action, message=result.message)


@router.post("/pause")
async def pause_entries(request: Request, p: ControlPrincipal) -> views.ActionResult:
    """Stop opening positions; open ones keep their exits."""
    c = control_for(request, p)
    return await _act(request, p, "pause_entries", {}, lambda: c.pause_entries(actor=p.actor))


@router.post("/resume")
async def resume_entries(request: Request, p: ControlPrincipal) -> views.ActionResult:
    c = control_for(request, p)
    return await _act(request, p, "resume_entries", {}, lambda: c.resume_entries(actor=p.actor))


@router.post("/close")
async def close_position(
    request: Request, p: ControlPrincipal, body: ClosePositionRequest
) -> views.ActionResult:
    """Close one open position at market; 404 when this tenant has none in that symbol."""
    c = control_for(request, p)
    return await _act(
        request,
        p,
        "close_position",
        {"symbol": body.symbol},
        lambda: c.close_position(body.symbol, actor=p.actor),
    )


@router.post("/close-all")
async def close_all(request: Request, p: ControlPrincipal) -> views.ActionResult:
    c = control_for(request, p)
    return await _act(request, p, "close_all", {}, lambda: c.close_all(actor=p.actor))


@router.post("/kill-switch")
async def kill_switch(request: Request, p: ControlPrincipal) -> views.ActionResult:
    """Cancel every order, close every position, refuse entries until an operator restarts."""
    c = control_for(request, p)
    return await _act(request, p, "kill_switch", {}, lambda: c.kill_switch(actor=p.actor))


@router.post("/risk-limits")
async def update_risk_limits(
    request: Request, p: ControlPrincipal, body: RiskLimitsUpdate
) -> views.ActionResult:
    """Change risk limits; values are checked against the same rules as the `risk` config section."""
    changes = body.model_dump(exclude_none=True)
    current = settings_of(request).risk.model_dump()
    params = {k: str(v) for k, v in changes.items()}
    try:
        RiskConfig.model_validate({**current, **changes})
    except ValidationError as e:
        message = "; ".join(format_validation_error(e))
        await audit_control(request, p, "update_risk_limits", params, f"refused: {message}")
        raise HTTPException(422, message) from None
    c = control_for(request, p)
    return await _act(
        request, p, "update_risk_limits", params, lambda: c.update_risk_limits(actor=p.actor, **changes)
    )
