"""Dependencies shared by the route modules: the caller's tenant-bound control, app services."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from aitrader.api.auth import Principal, require
from aitrader.api.control import EngineControl
from aitrader.api.ports import AuditLog, TenantDirectory
from aitrader.api.snapshots import CachedControl
from aitrader.config import Settings
from aitrader.core.time import now_ms

log = logging.getLogger(__name__)

# Published in the OpenAPI schema so clients (and schemathesis) know a valid pair before sending one;
# the handlers still run `split_symbol` / `timeframe_to_ms`, which own the rules.
SYMBOL_PATTERN = r"^[A-Za-z0-9]+/[A-Za-z0-9]+(:[A-Za-z0-9]+)?$"
TIMEFRAME_PATTERN = r"^[0-9]{1,4}[smhdw]$"

ReadPrincipal = Annotated[Principal, Depends(require("read"))]


async def _control_principal(
    request: Request, p: Annotated[Principal, Depends(require("read"))]
) -> Principal:
    """`require("control")`, plus an audit record when a known key lacks the scope: a read key trying
    to act is exactly what an operator wants to see in the audit log."""
    if not p.allows("control"):
        message = f"this key has scope {p.scope!r}; 'control' is needed"
        route = request.scope.get("route")
        action = getattr(getattr(route, "endpoint", None), "__name__", request.url.path)
        await audit_control(request, p, action, {}, f"refused: {message}")
        raise HTTPException(403, message)
    return p


ControlPrincipal = Annotated[Principal, Depends(_control_principal)]
AdminPrincipal = Annotated[Principal, Depends(require("admin"))]


def control_for(request: Request, principal: Principal) -> EngineControl:
    """The control bound to the caller's tenant: the only way a route reaches engine state."""
    return snapshots_for(request, principal)


def snapshots_for(request: Request, principal: Principal) -> CachedControl:
    """The same control, typed as what `create_app` makes it: reads are per-tenant snapshots."""
    control: CachedControl = request.app.state.control_factory(principal.tenant_id)
    return control


class JsonBytes(Response):
    """Already-serialised JSON (a snapshot's cached encoding), sent without re-validation.

    Routes that answer with it still declare `response_model`, so the published schema is unchanged;
    the bytes come from the same pydantic types (`snapshots.ADAPTERS`).
    """

    media_type = "application/json"


async def json_view(
    request: Request, principal: Principal, view: str, *args: bool | int | str | None
) -> JsonBytes:
    """The caller's tenant's `view` as a ready HTTP answer."""
    return JsonBytes(await snapshots_for(request, principal).json(view, *args))


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def audit_of(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


async def audit_control(
    request: Request, p: Principal, action: str, params: dict[str, Any], outcome: str
) -> None:
    """Append one control attempt to the tenant's audit log (off the event loop), and log it."""
    audit = audit_of(request)
    await run_in_threadpool(
        lambda: audit.append(
            tenant_id=p.tenant_id,
            key_id=p.key_id,
            actor=p.actor,
            action=action,
            params=params,
            result=outcome,
            ts=now_ms(),
        )
    )
    log.info("control %s by %s for %s: %s", action, p.actor, p.tenant_id, outcome)


def tenants_of(request: Request) -> TenantDirectory:
    tenants: TenantDirectory = request.app.state.tenants
    return tenants
