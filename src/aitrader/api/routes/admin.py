"""Admin-only records: tenants and the audit log.

An admin key sees its own tenant. The operator tenant (`settings.tenant`, the install's owner) is
the one whose admins see every tenant; any other tenant's record answers 404 to everyone else, the
same as a tenant that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from aitrader.api import views
from aitrader.api.auth import Principal
from aitrader.api.routes.deps import AdminPrincipal, audit_of, settings_of, tenants_of

router = APIRouter(prefix="/api/v1", tags=["admin"])


def _is_operator(request: Request, p: Principal) -> bool:
    return p.tenant_id == settings_of(request).tenant


@router.get("/tenants")
async def list_tenants(request: Request, p: AdminPrincipal) -> list[views.Tenant]:
    tenants = await run_in_threadpool(tenants_of(request).list)
    if _is_operator(request, p):
        return tenants
    return [t for t in tenants if t.tenant_id == p.tenant_id]


@router.get("/tenants/{tenant_id}")
async def get_tenant(
    request: Request, p: AdminPrincipal, tenant_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> views.Tenant:
    if tenant_id != p.tenant_id and not _is_operator(request, p):
        raise HTTPException(404, "no such tenant")
    tenant = await run_in_threadpool(tenants_of(request).get, tenant_id)
    if tenant is None:
        raise HTTPException(404, "no such tenant")
    return tenant


@router.get("/audit")
async def audit(
    request: Request,
    p: AdminPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[views.AuditEntry]:
    """Control actions of this tenant, newest first (`before_id` pages back)."""
    log = audit_of(request)
    return await run_in_threadpool(lambda: log.list(p.tenant_id, limit=limit, before_id=before_id))
