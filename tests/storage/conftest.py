"""Storage fixtures: every `db_url`/`engine`/`migrated` test runs on SQLite *and* PostgreSQL.

PostgreSQL tests get a fresh schema (`ait_test_<pid>_<random>_<n>`) in 127.0.0.1:5432/test, reached
through `search_path` in the URL so subprocesses can use the same URL; each schema is dropped after its
test and any leftover of this session is swept at the end. If PostgreSQL is unreachable the postgres
params are skipped with the reason (set AITRADER_TEST_PG_URL to point elsewhere).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade

PG_URL = os.environ.get("AITRADER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_counter = itertools.count()


@dataclass
class PgAdmin:
    engine: Engine
    prefix: str


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[PgAdmin | str]:
    """An engine on the test database, or the reason PostgreSQL cannot be used."""
    engine = create_engine(PG_URL, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:
        engine.dispose()
        yield f"PostgreSQL at {PG_URL} unreachable: {type(e).__name__}: {str(e).splitlines()[0]}"
        return
    prefix = f"ait_test_{os.getpid()}_{secrets.token_hex(3)}"
    yield PgAdmin(engine, prefix)
    with engine.begin() as conn:
        names = conn.execute(
            text("select nspname from pg_namespace where nspname like :p"), {"p": prefix + "%"}
        ).scalars()
        for name in list(names):
            conn.execute(text(f'drop schema if exists "{name}" cascade'))
    engine.dispose()


def _pg_schema_url(admin: PgAdmin) -> tuple[str, str]:
    schema = f"{admin.prefix}_{next(_counter)}"
    with admin.engine.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    base = PG_URL.split("?", 1)[0]
    return schema, f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'aitrader.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    if isinstance(admin, str):
        pytest.skip(admin)
    schema, url = _pg_schema_url(admin)
    yield url
    with admin.engine.begin() as conn:
        conn.execute(text(f'drop schema if exists "{schema}" cascade'))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """An engine whose database is at the newest schema (through alembic, as in production)."""
    upgrade(engine)
    return engine
