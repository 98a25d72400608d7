"""The dashboard key: created for the tenant on its first session and printed once, never again.

Only a hash is stored (`security.key_store`), so a key that was printed before cannot be shown
again; a tenant that already has an active admin key gets none (make more with `aitrader keys`).
"""

from __future__ import annotations

from sqlalchemy import Engine

from aitrader.security.api_keys import Scope
from aitrader.security.key_store import create_api_key, list_api_keys


def first_admin_key(db: Engine, tenant_id: str) -> str | None:
    """A new admin key's plaintext when the tenant has no active admin key yet, else None."""
    if any(k.active and k.scope is Scope.ADMIN for k in list_api_keys(db, tenant_id)):
        return None
    return create_api_key(db, tenant_id, Scope.ADMIN.value, label="first start of aitrader run").plaintext
