from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from aitrader.cli.main import app
from aitrader.storage.migrate import head_revision

runner = CliRunner()


def test_db_current_upgrade_current(db_url: str) -> None:
    url = db_url.replace("postgresql+psycopg://", "postgresql://")  # the short form is accepted too
    r = runner.invoke(app, ["db", "current", "--db", url])
    assert r.exit_code == 1 and "not initialised" in r.output
    r = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert r.exit_code == 0, r.output
    assert f"upgraded empty → {head_revision()}" in r.output
    r = runner.invoke(app, ["db", "upgrade", "--db", url])
    assert r.exit_code == 0 and "already at" in r.output
    r = runner.invoke(app, ["db", "current", "--db", url])
    assert r.exit_code == 0 and "up to date" in r.output


def test_db_url_comes_from_config_and_sqlite_dirs_are_created(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "ait.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"storage:\n  url: sqlite:///{target}\n")
    r = runner.invoke(app, ["db", "upgrade", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert target.exists()
    r = runner.invoke(app, ["db", "cleanup", "--config", str(cfg), "--tenant", "t", "--days", "3"])
    assert r.exit_code == 0, r.output
    assert "decisions: 0 deleted" in r.output


def test_bad_url_is_a_domain_error(tmp_path: Path) -> None:
    from aitrader.core.errors import AitraderError

    r = runner.invoke(app, ["db", "upgrade", "--db", "mysql://x/y"])
    assert isinstance(r.exception, AitraderError) and "unsupported database" in str(r.exception)
