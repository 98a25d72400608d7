"""Kraken's REST request signing, both sides of it.

API-Sign = base64(HMAC-SHA512(key=base64decode(secret), msg=uri_path + SHA256(nonce + postdata))).
The simulator verifies exactly this, and that each key's nonce strictly increases, so a client that
signs wrongly or reuses nonces fails here as it would on the exchange.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading


def kraken_signature(uri_path: str, nonce: str, postdata: str, secret_b64: str) -> str:
    sha = hashlib.sha256((nonce + postdata).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), uri_path.encode() + sha, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def signature_ok(uri_path: str, nonce: str, postdata: str, secret_b64: str, given: str) -> bool:
    try:
        expected = kraken_signature(uri_path, nonce, postdata, secret_b64)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(expected, given)


class NonceGuard:
    """Remembers the last nonce per API key; a nonce not above it is refused (EAPI:Invalid nonce)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def accept(self, api_key: str, nonce: int) -> bool:
        with self._lock:
            if nonce <= self._last.get(api_key, 0):
                return False
            self._last[api_key] = nonce
            return True
