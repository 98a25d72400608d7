"""Storage-backed `KeyVerifier`: a presented API key -> its principal, or None.

All of the key handling (prefix lookup, constant-time hash compare, revocation, last-used touch) is
`security.key_store`; this only turns its answer into the API's `Principal`.
"""

from __future__ import annotations

from sqlalchemy import Engine

from aitrader.api.auth import SCOPES, Principal
from aitrader.core.errors import AitraderError
from aitrader.security.key_store import authenticate
from aitrader.storage.repository import session_factory
from aitrader.storage.schema import ApiKey


class StoreKeyVerifier:
    def __init__(self, db: Engine) -> None:
        self._db = db

    def verify(self, presented: str) -> Principal | None:
        try:
            info = authenticate(self._db, presented)
        except AitraderError:
            return None
        scope = next((s for s in SCOPES if s == info.scope.value), None)
        return Principal(info.tenant_id, info.id, scope) if scope is not None else None

    def is_active(self, key_id: int) -> bool:
        with session_factory(self._db)() as s:
            row = s.get(ApiKey, key_id)
            return row is not None and row.revoked_ms is None
