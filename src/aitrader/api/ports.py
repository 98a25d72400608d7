"""What the control plane needs from storage besides engine state: the audit log and tenants.

Protocols, so the API is tested and wired the same way whatever backs them; the real implementations
over the storage repository are in `api/store_ports.py`. (Key lookup is `auth.KeyVerifier`.)
"""

from __future__ import annotations

from typing import Any, Protocol

from aitrader.api import views


class AuditLog(Protocol):
    """Append-only record of every control action, successful or not."""

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
    ) -> None: ...

    def list(
        self, tenant_id: str | None, *, limit: int, before_id: int | None = None
    ) -> list[views.AuditEntry]:
        """Newest first; `tenant_id` None means every tenant (operator admins only)."""
        ...


class TenantDirectory(Protocol):
    def list(self) -> list[views.Tenant]: ...

    def get(self, tenant_id: str) -> views.Tenant | None: ...
