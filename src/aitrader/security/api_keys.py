"""API key format, hashing and scopes (no database here; see `key_store` for that).

A key is `ait_<prefix>_<secret>`: `prefix` is 12 hex characters (48 random bits), stored in clear
and unique, so a presented key is found with one indexed lookup; `secret` is 32 random bytes
(base64url). Only SHA-256 of the whole key is stored, compared with `hmac.compare_digest`.

Why SHA-256 and not scrypt/argon2: those slow hashes protect *guessable* secrets (passwords).
A 256-bit random secret cannot be brute-forced whatever the hash, and a slow hash would cost tens
of milliseconds of CPU on every API request (and be a denial-of-service lever). This is the practice
of GitHub and Stripe tokens. The vault, which is keyed by a human passphrase, does use scrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum

from aitrader.core.errors import AitraderError

KEY_PREFIX = "ait"
SECRET_BYTES = 32
_KEY_RE = re.compile(r"^ait_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class InvalidKeyError(AitraderError):
    """A presented key is malformed, unknown, revoked or does not match."""


class Scope(StrEnum):
    """What a key may do; each scope includes the ones below it."""

    READ = "read"
    CONTROL = "control"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Scope.READ: 0, Scope.CONTROL: 1, Scope.ADMIN: 2}


def parse_scope(text: str) -> Scope:
    try:
        return Scope(text.strip().lower())
    except ValueError:
        raise AitraderError(f"invalid scope {text!r}: expected read, control or admin") from None


def scope_allows(have: Scope | str, need: Scope | str) -> bool:
    """True when a key with scope `have` may do something that needs `need` (read < control < admin)."""
    return parse_scope(have).rank >= parse_scope(need).rank


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def generate_key() -> tuple[str, str, str]:
    """A new key: (plaintext shown once, prefix for lookup, hash to store)."""
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return plaintext, prefix, hash_key(plaintext)


def key_prefix(plaintext: str) -> str:
    """The lookup prefix of a presented key; raises InvalidKeyError if it is not one of ours."""
    m = _KEY_RE.match(plaintext.strip())
    if not m:
        raise InvalidKeyError("malformed API key")
    return m.group(1)


def verify_key(plaintext: str, stored_hash: str) -> bool:
    """Constant-time comparison of the presented key's hash with the stored one."""
    return hmac.compare_digest(hash_key(plaintext.strip()), stored_hash)
