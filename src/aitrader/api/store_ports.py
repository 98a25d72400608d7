"""Storage-backed `AuditLog` and `TenantDirectory` for the control plane.

Audit rows go through the tenant-scoped repository like everything else. Listing every tenant (for
the operator's admins) precedes any one tenant, so it reads the `tenants` table directly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from aitrader.api import views
from aitrader.storage.repository import session_factory, tenant_scope
from aitrader.storage.schema import Tenant


class StoreAuditLog:
    def __init__(self, db: Engine) -> None:
        self._db = db

    def append(
        self,
        *,
        tenant_id: str,
        key_id: int | None,
        actor: str,
        action: str,
        params: dict[str, Any],
        result: str,
        ts: int,
    ) -> None:
        with tenant_scope(self._db, tenant_id, write=True) as ts_:
            ts_.audit(action, params, result, key_id=key_id, actor=actor, ts_ms=ts)

    def list(
        self, tenant_id: str | None, *, limit: int, before_id: int | None = None
    ) -> list[views.AuditEntry]:
        if tenant_id is None:
            raise ValueError("audit lists are per tenant")
        with tenant_scope(self._db, tenant_id) as ts_:
            rows = ts_.list_audit(limit=limit if before_id is None else 1000)
        if before_id is not None:
            rows = [r for r in rows if r.id < before_id][:limit]
        return [
            views.AuditEntry(
                id=r.id,
                ts=r.ts,
                tenant_id=r.tenant_id,
                key_id=str(r.key_id) if r.key_id is not None else "",
                action=r.action,
                params=dict(r.params or {}),
                result=r.result,
            )
            for r in rows
        ]


def _tenant_view(t: Tenant) -> views.Tenant:
    return views.Tenant(
        tenant_id=t.tenant_id, name=t.name, created_ms=t.created_ms, active=t.disabled_ms is None
    )


class StoreTenantDirectory:
    def __init__(self, db: Engine) -> None:
        self._db = db

    def list(self) -> list[views.Tenant]:
        with session_factory(self._db)() as s:
            return [_tenant_view(t) for t in s.execute(select(Tenant).order_by(Tenant.tenant_id)).scalars()]

    def get(self, tenant_id: str) -> views.Tenant | None:
        with tenant_scope(self._db, tenant_id) as ts_:
            t = ts_.tenant()
            return _tenant_view(t) if t is not None else None
