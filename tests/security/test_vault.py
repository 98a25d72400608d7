from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from aitrader.security.vault import Vault, VaultError

FAST = 14  # scrypt cost for tests (the default 17 is for real vaults)


def test_put_get_list_delete_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "vault.json"
    v = Vault.create(path, "correct horse", log2_n=FAST)
    v.put("acme", "kraken.secret", "s3cr3t-ü")
    v.put("acme", "telegram.token", "123:abc")
    v.put("other", "kraken.secret", "different")
    assert v.get("acme", "kraken.secret") == "s3cr3t-ü"
    assert v.list("acme") == [("acme", "kraken.secret"), ("acme", "telegram.token")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "s3cr3t" not in path.read_text()
    assert v.delete("acme", "telegram.token") is True and v.delete("acme", "telegram.token") is False
    again = Vault.open(path, "correct horse")
    assert again.get("other", "kraken.secret") == "different"
    assert again.list() == [("acme", "kraken.secret"), ("other", "kraken.secret")]
    with pytest.raises(VaultError, match="no secret"):
        again.get("acme", "telegram.token")


def test_wrong_passphrase_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    Vault.create(path, "right", log2_n=FAST).put("t", "k", "v")
    with pytest.raises(VaultError, match="wrong passphrase"):
        Vault.open(path, "wrong")
    with pytest.raises(VaultError, match="already exists"):
        Vault.create(path, "right", log2_n=FAST)


def _tamper(path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def test_flipped_ciphertext_bit_is_detected(tmp_path: Path) -> None:
    import base64

    path = tmp_path / "v.json"
    Vault.create(path, "pw", log2_n=FAST).put("t", "k", "value")

    def flip(doc: dict) -> None:  # type: ignore[type-arg]
        ct = bytearray(base64.b64decode(doc["secrets"]["t"]["k"]["ct"]))
        ct[0] ^= 1
        doc["secrets"]["t"]["k"]["ct"] = base64.b64encode(bytes(ct)).decode()

    _tamper(path, flip)
    v = Vault.open(path, "pw")  # the passphrase is still right
    with pytest.raises(VaultError, match="tampered"):
        v.get("t", "k")


def test_swapped_ciphertexts_do_not_decrypt(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    v = Vault.create(path, "pw", log2_n=FAST)
    v.put("t", "api_key", "public-ish")
    v.put("t", "api_secret", "very secret")
    v.put("u", "api_secret", "u's secret")

    def swap(doc: dict) -> None:  # type: ignore[type-arg]
        s = doc["secrets"]
        s["t"]["api_key"], s["t"]["api_secret"] = s["t"]["api_secret"], s["t"]["api_key"]
        s["u"]["api_secret"], s["t"]["api_secret"] = s["t"]["api_secret"], s["u"]["api_secret"]

    _tamper(path, swap)
    v2 = Vault.open(path, "pw")
    for tenant, name in [("t", "api_key"), ("t", "api_secret"), ("u", "api_secret")]:
        with pytest.raises(VaultError, match="tampered"):
            v2.get(tenant, name)


def test_modified_header_and_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    Vault.create(path, "pw", log2_n=FAST)

    def salt(doc: dict) -> None:  # type: ignore[type-arg]
        doc["kdf"]["salt"] = "AAAAAAAAAAAAAAAAAAAAAA=="

    _tamper(path, salt)
    with pytest.raises(VaultError, match="wrong passphrase"):
        Vault.open(path, "pw")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(VaultError, match="not a vault"):
        Vault.open(tmp_path / "junk.json", "pw")
    with pytest.raises(VaultError, match="not found"):
        Vault.open(tmp_path / "missing.json", "pw")
    with pytest.raises(VaultError, match="empty"):
        Vault.create(tmp_path / "new.json", "", log2_n=FAST)
