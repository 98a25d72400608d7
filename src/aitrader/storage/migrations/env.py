"""Alembic environment: our metadata, and the engine/URL `aitrader.storage.migrate` passes in.

`render_as_batch` lets SQLite alter tables (copy-and-move) in later migrations; `compare_type` makes
autogenerate notice type changes, including our Money column on each backend.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from aitrader.storage.db import make_engine
from aitrader.storage.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(engine: Engine) -> None:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is not None:
        _run(engine)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass an engine or set sqlalchemy.url")
    own = make_engine(url)
    try:
        _run(own)
    finally:
        own.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
