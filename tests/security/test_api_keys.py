from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from aitrader.core.errors import AitraderError
from aitrader.security.api_keys import (
    InvalidKeyError,
    Scope,
    generate_key,
    hash_key,
    key_prefix,
    scope_allows,
    verify_key,
)
from aitrader.security.key_store import (
    TOUCH_INTERVAL_MS,
    authenticate,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from aitrader.storage.repository import tenant_scope
from aitrader.storage.schema import ApiKey


def test_generated_keys_are_random_hashed_and_verifiable() -> None:
    keys = [generate_key() for _ in range(200)]
    plain, prefix, digest = keys[0]
    assert plain.startswith(f"ait_{prefix}_") and len(plain) == 4 + 12 + 1 + 43
    assert digest == hash_key(plain) and plain not in digest and len(digest) == 64
    assert len({k[0] for k in keys}) == 200 and len({k[1] for k in keys}) == 200
    assert verify_key(plain, digest)
    tampered = plain[:-1] + ("A" if plain[-1] != "A" else "B")
    assert not verify_key(tampered, digest)
    assert key_prefix(plain) == prefix


@pytest.mark.parametrize(
    "bad", ["", "ait_", "xyz_0123456789ab_" + "a" * 43, "ait_0123456789ab_short", "Bearer x"]
)
def test_malformed_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidKeyError):
        key_prefix(bad)


def test_scope_ordering() -> None:
    order = [Scope.READ, Scope.CONTROL, Scope.ADMIN]
    for i, have in enumerate(order):
        for j, need in enumerate(order):
            assert scope_allows(have, need) is (i >= j), (have, need)
    assert scope_allows("admin", "read") and not scope_allows("read", "control")
    with pytest.raises(AitraderError, match="invalid scope"):
        scope_allows("root", "read")


def test_create_authenticate_list_revoke(engine: Engine) -> None:
    created = create_api_key(engine, "acme", "control", label="bot", now=1_000)
    assert created.tenant_created is True
    assert create_api_key(engine, "acme", Scope.READ, now=1_001).tenant_created is False
    info = authenticate(engine, created.plaintext, now=2_000)
    got = (info.tenant_id, info.scope, info.label, info.last_used_ms)
    assert got == ("acme", Scope.CONTROL, "bot", 2_000)
    # last_used is refreshed at most once per interval (no write per request)
    assert authenticate(engine, created.plaintext, now=2_500).last_used_ms == 2_000
    assert authenticate(engine, created.plaintext, now=2_000 + TOUCH_INTERVAL_MS).last_used_ms == 62_000
    with engine.connect() as conn:
        stored = conn.execute(select(ApiKey.key_hash, ApiKey.key_prefix)).all()
    assert all(created.plaintext not in (h + p) for h, p in stored)  # the secret is never stored
    listed = list_api_keys(engine, "acme")
    assert [k.scope for k in listed] == [Scope.CONTROL, Scope.READ]
    assert list_api_keys(engine, "nobody") == []
    revoked = revoke_api_key(engine, created.info.prefix, now=3_000)
    assert revoked.revoked_ms == 3_000 and not revoked.active
    assert revoke_api_key(engine, created.info.prefix, now=4_000).revoked_ms == 3_000
    with pytest.raises(InvalidKeyError, match="invalid or revoked"):
        authenticate(engine, created.plaintext)
    with tenant_scope(engine, "acme") as ts:
        assert [a.action for a in ts.list_audit()] == ["key.revoke", "key.create", "key.create"]


def test_wrong_secret_with_a_real_prefix_is_refused(engine: Engine) -> None:
    created = create_api_key(engine, "acme", "admin")
    forged = f"ait_{created.info.prefix}_{'A' * 43}"
    with pytest.raises(InvalidKeyError):
        authenticate(engine, forged)
    with pytest.raises(InvalidKeyError, match="no API key"):
        revoke_api_key(engine, "000000000000")
