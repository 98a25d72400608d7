"""Alembic, driven from code: no alembic.ini needed at runtime.

The migration scripts ship inside the package (`aitrader/storage/migrations`); `alembic_config()` points
alembic at them and hands the URL (or an open connection, for tests) to `migrations/env.py`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from aitrader.core.errors import AitraderError
from aitrader.storage.db import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, engine: Engine | None = None) -> Config:
    """A Config for our migrations; `engine` wins over `url` (env.py uses whichever it gets)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise AitraderError("no migrations found in the package (broken install?)")
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest schema)."""
    command.upgrade(alembic_config(engine=engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine=engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise a clear error unless the database is at the newest schema (commands call this first)."""
    rev = current_revision(engine)
    if rev is None and not inspect(engine).has_table("alembic_version"):
        raise AitraderError("database is not initialised: run `aitrader db upgrade` first")
    if rev != head_revision():
        raise AitraderError(
            f"database schema is at {rev or 'nothing'}, this version needs {head_revision()}: "
            "run `aitrader db upgrade`"
        )


def upgrade_url(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at `url`; returns the revision it is at afterwards."""
    engine = make_engine(url)
    try:
        upgrade(engine, revision)
        return current_revision(engine)
    finally:
        engine.dispose()
