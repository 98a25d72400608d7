"""Encrypted file vault for exchange keys and tokens (AES-256-GCM, key from a passphrase via scrypt).

Design, and why:
- The 256-bit key is derived with scrypt (N=2^17, r=8, p=1 by default: ~128 MiB and a fraction of a
  second) from the operator's passphrase and a random 16-byte salt kept in the file. A passphrase is
  guessable, so the derivation must be slow and memory-hard; the parameters are stored so they can
  be raised later without breaking old files.
- Every secret gets its own random 96-bit nonce (GCM's native size; random nonces are safe far
  beyond the number of secrets a vault holds).
- Associated data is `tenant` + `name`: a ciphertext moved to another name or tenant fails
  authentication instead of decrypting as the wrong secret.
- A check value encrypted under the key tells a wrong passphrase apart from a tampered secret, so
  each gets its own clear error.
- Writes go to a temporary file that is fsynced and renamed over the vault (never half-written),
  with mode 0600. One process writes a vault at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aitrader.core.errors import AitraderError

FORMAT = "aitrader-vault"
VERSION = 1
DEFAULT_LOG2_N = 17
_CHECK_PLAINTEXT = b"aitrader vault check v1"
_CHECK_AAD = b"aitrader-vault:check"


class VaultError(AitraderError):
    """Wrong passphrase, tampered file, missing secret or unreadable vault."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise VaultError("the vault passphrase must not be empty")
    n = 1 << log2_n
    return hashlib.scrypt(
        passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=32
    )


def _aad(tenant: str, name: str) -> bytes:
    return b"aitrader-vault:secret\x00" + tenant.encode("utf-8") + b"\x00" + name.encode("utf-8")


def _check_name(what: str, value: str) -> str:
    if not value or "\x00" in value or len(value) > 200:
        raise VaultError(f"invalid {what} {value!r}: 1-200 characters, no NUL")
    return value


class Vault:
    """Secrets of all tenants in one passphrase-protected file; open with `create` or `open`."""

    def __init__(self, path: Path, key: bytes, header: dict[str, Any], entries: dict[str, dict[str, Any]]):
        self._path = path
        self._aes = AESGCM(key)
        self._header = header
        self._entries = entries  # tenant -> name -> {"nonce", "ct"}

    # ------------------------------------------------------------------ open / create
    @classmethod
    def create(cls, path: str | Path, passphrase: str, *, log2_n: int = DEFAULT_LOG2_N) -> Vault:
        """A new empty vault at `path` (refuses to overwrite an existing file)."""
        p = Path(path)
        if p.exists():
            raise VaultError(f"vault {p} already exists")
        if not 14 <= log2_n <= 20:
            raise VaultError(f"scrypt log2_n {log2_n} out of range 14..20")
        salt = secrets.token_bytes(16)
        kdf = {"name": "scrypt", "salt": _b64(salt), "log2_n": log2_n, "r": 8, "p": 1}
        key = _derive(passphrase, salt, log2_n, 8, 1)
        nonce = secrets.token_bytes(12)
        check = {"nonce": _b64(nonce), "ct": _b64(AESGCM(key).encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_AAD))}
        vault = cls(p, key, {"format": FORMAT, "version": VERSION, "kdf": kdf, "check": check}, {})
        vault._save()
        return vault

    @classmethod
    def open(cls, path: str | Path, passphrase: str) -> Vault:
        """Open an existing vault; VaultError("wrong passphrase ...") if the passphrase does not match."""
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VaultError(f"vault {p} not found") from None
        except (OSError, ValueError) as e:
            raise VaultError(f"vault {p} is unreadable or not a vault: {e}") from None
        try:
            if doc["format"] != FORMAT or doc["version"] != VERSION:
                raise VaultError(f"{p} is not an aitrader vault (version {VERSION})")
            kdf = doc["kdf"]
            if kdf["name"] != "scrypt":
                raise VaultError(f"vault {p}: unsupported key derivation {kdf['name']!r}")
            key = _derive(passphrase, _unb64(kdf["salt"]), int(kdf["log2_n"]), int(kdf["r"]), int(kdf["p"]))
            check = doc["check"]
            nonce, ct = _unb64(check["nonce"]), _unb64(check["ct"])
            entries = doc["secrets"]
        except (KeyError, TypeError, ValueError) as e:
            raise VaultError(f"vault {p} is damaged (bad header: {e})") from None
        try:
            ok = AESGCM(key).decrypt(nonce, ct, _CHECK_AAD) == _CHECK_PLAINTEXT
        except InvalidTag:
            ok = False
        if not ok:
            raise VaultError(f"wrong passphrase for vault {p} (or its header was modified)")
        header = {k: doc[k] for k in ("format", "version", "kdf", "check")}
        return cls(p, key, header, entries)

    # ------------------------------------------------------------------ secrets
    def put(self, tenant: str, name: str, value: str) -> None:
        """Store (or replace) a secret and write the vault file."""
        _check_name("tenant", tenant)
        _check_name("secret name", name)
        nonce = secrets.token_bytes(12)
        ct = self._aes.encrypt(nonce, value.encode("utf-8"), _aad(tenant, name))
        self._entries.setdefault(tenant, {})[name] = {"nonce": _b64(nonce), "ct": _b64(ct)}
        self._save()

    def get(self, tenant: str, name: str) -> str:
        entry = self._entries.get(tenant, {}).get(name)
        if entry is None:
            raise VaultError(f"no secret {name!r} for tenant {tenant!r} in the vault")
        try:
            plain = self._aes.decrypt(_unb64(entry["nonce"]), _unb64(entry["ct"]), _aad(tenant, name))
        except (InvalidTag, KeyError, TypeError, ValueError):
            raise VaultError(
                f"secret {name!r} of tenant {tenant!r} failed authentication: "
                "the vault file was tampered with or the entry was moved"
            ) from None
        return plain.decode("utf-8")

    def delete(self, tenant: str, name: str) -> bool:
        """Remove a secret; True if it existed."""
        names = self._entries.get(tenant, {})
        if name not in names:
            return False
        del names[name]
        if not names:
            del self._entries[tenant]
        self._save()
        return True

    def list(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """(tenant, name) of the stored secrets - names only, nothing is decrypted."""
        return sorted(
            (t, n) for t, names in self._entries.items() if tenant is None or t == tenant for n in names
        )

    # ------------------------------------------------------------------ file
    def _save(self) -> None:
        doc = {**self._header, "secrets": self._entries}
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".vault-", dir=self._path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
