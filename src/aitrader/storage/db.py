"""Engines: SQLite (WAL) for a single host, PostgreSQL (psycopg 3) for anything bigger.

SQLite: WAL lets the API read while the writer task writes; `synchronous=NORMAL` in WAL mode loses
nothing on a *process* crash (a committed transaction is in the WAL file) and only risks the last
transactions on power loss, which is the documented trade-off for a much faster commit. The sqlite3
module's own transaction handling is switched off (it does not BEGIN before SELECT, so reads were not
isolated); we emit BEGIN ourselves, and `BEGIN IMMEDIATE` for write transactions (`write_options`)
so a writer takes the lock up front and waits `busy_timeout` for it instead of failing half-way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from aitrader.core.errors import AitraderError

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option that makes our SQLite begin hook emit BEGIN IMMEDIATE (ignored on PostgreSQL).
SQLITE_BEGIN_OPTION = "aitrader_sqlite_begin"
WRITE_OPTIONS: dict[str, Any] = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}


def normalise_url(url: str) -> str:
    """`postgres://` and `postgresql://` -> `postgresql+psycopg://` (psycopg 3 is our only PG driver)."""
    text = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    return text


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An Engine for `url` (sqlite:///path or postgresql[+psycopg]://...), configured as described above."""
    text = normalise_url(url)
    try:
        parsed = make_url(text)
    except Exception as e:  # sqlalchemy raises ArgumentError with a long message
        raise AitraderError(f"invalid database URL {url!r}: {e}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(text, parsed.database, echo)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise AitraderError(
                f"unsupported PostgreSQL driver {parsed.drivername!r}: use postgresql+psycopg://"
            )
        return create_engine(text, echo=echo, pool_pre_ping=True, future=True)
    raise AitraderError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://...")


def _sqlite_engine(url: str, database: str | None, echo: bool) -> Engine:
    memory = not database or database == ":memory:" or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"echo": echo}
    if memory:
        # one shared connection, or every pooled connection would see its own empty database
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        assert database is not None
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
    cur = dbapi_connection.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def backend_name(engine: Engine) -> str:
    """`sqlite` or `postgresql`."""
    return engine.dialect.name


def redact(url: str) -> str:
    """The URL with any password masked, for logs and CLI output."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "<invalid url>"
