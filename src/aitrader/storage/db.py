"""Engines: SQLite (WAL) for a single host, PostgreSQL (psycopg 3) for anything bigger.

SQLite: WAL lets the API read while the writer task writes; `synchronous=NORMAL` in WAL mode loses
nothing on a *process* crash (a committed transaction is in the WAL file) and only risks the last
transactions on power loss, which is the documented trade-off for a much faster commit. The sqlite3
module's own transaction handling is switched off (it does not BEGIN before SELECT, so reads were not
isolated); we emit BEGIN ourselves, and `BEGIN IMMEDIATE` for write transactions (`write_options`)
so a writer takes the lock up front and waits `busy_timeout` for it instead of failing half-way.

JSON columns are encoded with orjson (`json_dumps`), not the stdlib: the storage writer's thread
encodes every engine-state value, and the stdlib's C encoder keeps the GIL for a whole value - the
dashboard's candle windows (300 rows per pair) took ~1.1 ms each, ~55 ms for 50 pairs, during which
the event loop could not run a single WebSocket frame (bench/live.py: p99 message-to-decision
stalls of 10-40 ms). orjson encodes the same value in ~0.06 ms. Values orjson refuses (integers
beyond 64 bits, unusual types) go through the stdlib as before; NaN and infinities are written as
null, valid JSON on both backends (PostgreSQL refuses NaN in a JSON column anyway).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from aitrader.core.errors import AitraderError

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option that makes our SQLite begin hook emit BEGIN IMMEDIATE (ignored on PostgreSQL).
SQLITE_BEGIN_OPTION = "aitrader_sqlite_begin"
WRITE_OPTIONS: dict[str, Any] = {SQLITE_BEGIN_OPTION: "IMMEDIATE"}
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_dumps(value: Any) -> str:
    """The text of a JSON column (module docstring: orjson, the stdlib for what orjson refuses)."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


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
        return create_engine(text, echo=echo, pool_pre_ping=True, future=True, json_serializer=json_dumps)
    raise AitraderError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://...")


def _sqlite_engine(url: str, database: str | None, echo: bool) -> Engine:
    memory = not database or database == ":memory:" or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"echo": echo, "json_serializer": json_dumps}
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
