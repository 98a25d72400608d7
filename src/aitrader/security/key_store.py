"""API keys in the database: create (tenant on first key), authenticate, list, revoke.

Authentication looks a key up by its prefix across tenants - the one query that cannot be
tenant-scoped, because the key is what tells us the tenant. Everything after that (audit, data) goes
through `TenantSession`. Key management is recorded in the tenant's audit log.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError

from aitrader.core.time import now_ms
from aitrader.security.api_keys import (
    InvalidKeyError,
    Scope,
    generate_key,
    key_prefix,
    parse_scope,
    verify_key,
)
from aitrader.storage.db import WRITE_OPTIONS
from aitrader.storage.repository import TenantSession, session_factory
from aitrader.storage.schema import ApiKey

logger = logging.getLogger(__name__)

# last_used_ms is refreshed at most this often per key, so authenticating is not a write per request
TOUCH_INTERVAL_MS = 60_000


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """Everything about a key except its secret."""

    id: int
    tenant_id: str
    prefix: str
    scope: Scope
    label: str
    created_ms: int
    last_used_ms: int | None
    revoked_ms: int | None

    @property
    def active(self) -> bool:
        return self.revoked_ms is None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    plaintext: str  # shown once, never stored
    info: KeyInfo
    tenant_created: bool


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        tenant_id=row.tenant_id,
        prefix=row.key_prefix,
        scope=Scope(row.scope),
        label=row.label,
        created_ms=row.created_ms,
        last_used_ms=row.last_used_ms,
        revoked_ms=row.revoked_ms,
    )


def create_api_key(
    engine: Engine, tenant_id: str, scope: Scope | str, *, label: str = "", now: int | None = None
) -> CreatedKey:
    """A new key for `tenant_id` (created if it does not exist yet)."""
    scope = parse_scope(scope)
    ts = now if now is not None else now_ms()
    plaintext, prefix, digest = generate_key()
    with session_factory(engine)() as session:
        session.connection(execution_options=WRITE_OPTIONS)
        tenant = TenantSession(session, tenant_id)
        created = tenant.ensure_tenant(ts_ms=ts)
        row = ApiKey(
            tenant_id=tenant.tenant_id,
            key_prefix=prefix,
            key_hash=digest,
            scope=scope.value,
            label=label,
            created_ms=ts,
        )
        session.add(row)
        session.flush()
        tenant.audit("key.create", {"prefix": prefix, "scope": scope.value, "label": label}, "ok", ts_ms=ts)
        session.commit()
        return CreatedKey(plaintext, _info(row), created)


def authenticate(engine: Engine, plaintext: str, *, now: int | None = None) -> KeyInfo:
    """The key's info if it is valid and not revoked; InvalidKeyError (one message for all cases) if not."""
    prefix = key_prefix(plaintext)
    ts = now if now is not None else now_ms()
    with session_factory(engine)() as session:
        row = session.execute(select(ApiKey).where(ApiKey.key_prefix == prefix)).scalar_one_or_none()
        if row is None or not verify_key(plaintext, row.key_hash) or row.revoked_ms is not None:
            raise InvalidKeyError("invalid or revoked API key")
        info = _info(row)
    if info.last_used_ms is None or ts - info.last_used_ms >= TOUCH_INTERVAL_MS:
        info = _touch(engine, info, ts)
    return info


def _touch(engine: Engine, info: KeyInfo, ts: int) -> KeyInfo:
    """Record the key's last use in its own short write transaction.

    Upgrading the read above into a write fails at once on SQLite (WAL) when another writer committed
    in between, so the write starts as BEGIN IMMEDIATE (it waits for the lock instead). The time is
    bookkeeping: if the database stays locked past its busy timeout the request is still served.
    """
    try:
        with session_factory(engine)() as session:
            session.connection(execution_options=WRITE_OPTIONS)
            session.execute(update(ApiKey).where(ApiKey.id == info.id).values(last_used_ms=ts))
            session.commit()
    except OperationalError as e:
        logger.warning("could not record last use of API key %s: %s", info.prefix, e.orig)
        return info
    return dataclasses.replace(info, last_used_ms=ts)


def list_api_keys(engine: Engine, tenant_id: str | None = None) -> list[KeyInfo]:
    """Keys of one tenant, or of all tenants (operator CLI), oldest first."""
    q = select(ApiKey).order_by(ApiKey.tenant_id, ApiKey.created_ms, ApiKey.id)
    if tenant_id is not None:
        q = q.where(ApiKey.tenant_id == tenant_id)
    with session_factory(engine)() as session:
        return [_info(r) for r in session.execute(q).scalars()]


def revoke_api_key(engine: Engine, prefix: str, *, now: int | None = None) -> KeyInfo:
    """Revoke the key with this prefix (idempotent: the first revocation time is kept)."""
    ts = now if now is not None else now_ms()
    with session_factory(engine)() as session:
        session.connection(execution_options=WRITE_OPTIONS)
        row = session.execute(select(ApiKey).where(ApiKey.key_prefix == prefix.strip())).scalar_one_or_none()
        if row is None:
            raise InvalidKeyError(f"no API key with prefix {prefix!r}")
        if row.revoked_ms is None:
            row.revoked_ms = ts
            tenant = TenantSession(session, row.tenant_id)
            tenant.audit("key.revoke", {"prefix": row.key_prefix}, "ok", ts_ms=ts)
        session.commit()
        return _info(row)
