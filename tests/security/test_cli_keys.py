from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from aitrader.cli.main import app
from aitrader.core.errors import AitraderError
from aitrader.security.api_keys import InvalidKeyError
from aitrader.security.key_store import authenticate

runner = CliRunner()
KEY_RE = re.compile(r"ait_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def test_create_list_revoke(engine: Engine, db_url: str) -> None:
    args = ["keys", "create", "--tenant", "acme", "--scope", "control", "--label", "ci", "--db", db_url]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "created tenant" in r.output
    keys = KEY_RE.findall(r.output)
    assert len(keys) == 1  # printed exactly once
    key = keys[0]
    assert authenticate(engine, key).scope == "control"

    r = runner.invoke(app, ["keys", "list", "--db", db_url])
    assert r.exit_code == 0 and key.split("_")[1] in r.output and key not in r.output
    r = runner.invoke(app, ["keys", "list", "--tenant", "acme", "--json", "--db", db_url])
    listed = json.loads(r.output)
    assert [(k["tenant"], k["scope"], k["label"], k["revoked_ms"]) for k in listed] == [
        ("acme", "control", "ci", None)
    ]
    assert key.split("_", 2)[2] not in r.output

    r = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--scope", "read", "--db", db_url])
    assert r.exit_code == 0 and "created tenant" not in r.output

    r = runner.invoke(app, ["keys", "revoke", listed[0]["prefix"], "--db", db_url])
    assert r.exit_code == 0 and "revoked" in r.output
    try:
        authenticate(engine, key)
        raise AssertionError("revoked key still authenticates")
    except InvalidKeyError:
        pass


def test_bad_scope_and_uninitialised_db_are_clear_errors(engine: Engine, db_url: str, tmp_path: Path) -> None:
    r = runner.invoke(app, ["keys", "create", "--tenant", "t", "--scope", "root", "--db", db_url])
    assert isinstance(r.exception, AitraderError) and "invalid scope" in str(r.exception)
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(app, ["keys", "list", "--db", empty])
    assert isinstance(r.exception, AitraderError) and "aitrader db upgrade" in str(r.exception)
