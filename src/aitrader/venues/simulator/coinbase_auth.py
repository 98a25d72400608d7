"""Coinbase CDP API-key authentication: a short-lived JWT per request, verified as Coinbase does.

ccxt 4.5.90 signs every private call with `Authorization: Bearer <JWT>`:
- ECDSA keys (secret is a PEM "EC PRIVATE KEY", key name `organizations/.../apiKeys/...`): ES256,
  claims iss "coinbase-cloud", aud ["retail_rest_api_proxy"], sub = key name, nbf/iat = now,
  exp = now + 120 s, uri = "<METHOD> <host><path>" (no query); header kid = key name, random nonce;
- Ed25519 keys (secret = base64 of 64 bytes): EdDSA, iss "cdp", aud ["cdp_service"], uris [uri].
We check the signature with the key's public half, the key name, the time window and that the uri
names this very request. ccxt strips only "https://" from the uri; against our plain-http loopback
server it leaves "http://" in, so a scheme prefix is tolerated. Failures answer as Coinbase does:
401 with the plain-text body "Unauthorized". A WebSocket subscription carries the same kind of token
in its `jwt` field, built without a uri (`verify_ws`); the WebSocket refuses a bad one with
`{"type": "error", "message": "authentication failure"}`.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
MAX_LIFETIME_S = 120  # Coinbase refuses tokens valid for longer than two minutes
LEEWAY_S = 5  # clock skew tolerated on nbf/exp


class AuthError(Exception):
    """Why a request was refused (for the log; the client only ever sees 401 Unauthorized)."""


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key_of(secret: str) -> PublicKey:
    """The public half of a CDP secret: a PEM EC private key, or base64 Ed25519 seed+public key."""
    if secret.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(secret.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("a PEM CDP secret must be an EC private key")
        return key.public_key()
    raw = base64.b64decode(secret)
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32]).public_key()


def new_ec_secret() -> str:
    """A fresh P-256 key as Coinbase hands it out (SEC1 PEM, "BEGIN EC PRIVATE KEY")."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


def request_uri(method: str, host: str, path: str) -> str:
    """The `uri` claim for a request: "GET api.coinbase.com/api/v3/brokerage/accounts"."""
    return f"{method.upper()} {host}{path}"


def _normalise_uri(uri: str) -> str:
    method, _, url = uri.partition(" ")
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
    return f"{method} {url.split('?', 1)[0]}"


def make_jwt(key_name: str, secret: str, uri: str | None, now_s: int | None = None, ttl_s: int = 120) -> str:
    """An ES256 token as ccxt / Coinbase's SDK build it (for tests and raw clients)."""
    key = serialization.load_pem_private_key(secret.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    now = int(time.time()) if now_s is None else now_s
    header = {"alg": "ES256", "typ": "JWT", "kid": key_name, "nonce": secrets.token_hex(16)}
    claims: dict[str, Any] = {
        "aud": ["retail_rest_api_proxy"],
        "iss": "coinbase-cloud",
        "nbf": now,
        "exp": now + ttl_s,
        "sub": key_name,
        "iat": now,
    }
    if uri is not None:
        claims["uri"] = uri
    signing_input = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class JwtVerifier:
    """Known API keys (name -> public key) and the check of one request's bearer token."""

    def __init__(self) -> None:
        self.keys: dict[str, PublicKey] = {}

    def add(self, key_name: str, public_key: PublicKey) -> None:
        self.keys[key_name] = public_key

    def verify(
        self, authorization: str, method: str, host: str, path: str, now_s: float | None = None
    ) -> str:
        """The API key name a valid `Authorization` header authenticates; AuthError otherwise."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer":
            raise AuthError("no bearer JWT")
        claims, name = self._verify_token(token, now_s)
        uris = claims.get("uris") if "uris" in claims else [claims.get("uri")]
        want = request_uri(method, host, path)
        if not isinstance(uris, list) or not any(
            isinstance(u, str) and _normalise_uri(u) == want for u in uris
        ):
            raise AuthError(f"uri claim does not name {want!r}")
        return name

    def verify_ws(self, token: str, now_s: float | None = None) -> str:
        """The API key name a WebSocket subscription's `jwt` authenticates; AuthError otherwise.

        As Coinbase's SDK and ccxt build it for the WebSocket: the same claims without a `uri`
        (one names no request), so any uri claim is ignored; signature, key and time are checked.
        """
        return self._verify_token(token, now_s)[1]

    def _verify_token(self, token: str, now_s: float | None) -> tuple[dict[str, Any], str]:
        """(claims, key name) of a token whose key, signature, issuer and time window are valid."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise AuthError("no JWT")
        head_b64, body_b64, sig_b64 = token.split(".")
        try:
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(body_b64))
            signature = _b64url_decode(sig_b64)
        except ValueError:
            raise AuthError("malformed JWT") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthError("malformed JWT")
        name = str(claims.get("sub"))
        key = self.keys.get(name)
        if key is None or header.get("kid") != name:
            raise AuthError("unknown API key")
        self._check_signature(key, header.get("alg"), f"{head_b64}.{body_b64}".encode(), signature)
        self._check_claims(claims, isinstance(key, ed25519.Ed25519PublicKey))
        now = time.time() if now_s is None else now_s
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(nbf, int) or not isinstance(exp, int):
            raise AuthError("nbf/exp missing")
        if nbf > now + LEEWAY_S or exp < now - LEEWAY_S or exp - nbf > MAX_LIFETIME_S:
            raise AuthError("token expired or not yet valid")
        return claims, name

    @staticmethod
    def _check_signature(key: PublicKey, alg: object, signed: bytes, signature: bytes) -> None:
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                if alg != "ES256" or len(signature) != 64:
                    raise AuthError("ES256 expected")
                der = encode_dss_signature(int.from_bytes(signature[:32]), int.from_bytes(signature[32:]))
                key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            else:
                if alg != "EdDSA":
                    raise AuthError("EdDSA expected")
                key.verify(signature, signed)
        except InvalidSignature:
            raise AuthError("bad signature") from None

    @staticmethod
    def _check_claims(claims: dict[str, Any], eddsa: bool) -> None:
        # ccxt: iss coinbase-cloud (ES256) or cdp (EdDSA) with an aud; Coinbase's SDK: iss cdp, no aud
        if claims.get("iss") not in (("cdp",) if eddsa else ("cdp", "coinbase-cloud")):
            raise AuthError("wrong issuer")
        aud = claims.get("aud", ["cdp_service", "retail_rest_api_proxy"])
        if not isinstance(aud, list) or not {"cdp_service", "retail_rest_api_proxy"} & set(map(str, aud)):
            raise AuthError("wrong audience")
