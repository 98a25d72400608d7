"""`aitrader db ...`: migrate the database, show its revision, apply retention."""

from __future__ import annotations

from typing import Annotated

import typer

from aitrader.cli.common import ConfigOption, console, settings_from
from aitrader.core.time import now_ms
from aitrader.storage.db import make_engine, redact
from aitrader.storage.migrate import current_revision, ensure_current, head_revision, upgrade
from aitrader.storage.repository import tenant_scope

db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", "--url", help="Database URL (default: storage.url from the config)."),
]


def resolve_db_url(db: str | None, config: ConfigOption = None) -> str:
    """The URL given on the command line, else the configured `storage.url`."""
    return db if db else settings_from(config).storage.url


@db_app.command("upgrade")
def upgrade_cmd(db: DbOption = None, config: ConfigOption = None) -> None:
    """Create or migrate the schema to the newest revision (safe to run repeatedly)."""
    url = resolve_db_url(db, config)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        console.print(f"[green]✓[/] {redact(url)} already at {after}", highlight=False)
    else:
        console.print(f"[green]✓[/] {redact(url)} upgraded {before or 'empty'} → {after}", highlight=False)


@db_app.command("current")
def current_cmd(db: DbOption = None, config: ConfigOption = None) -> None:
    """Show the schema revision of the database and whether it is the newest; exit 1 if behind."""
    url = resolve_db_url(db, config)
    engine = make_engine(url)
    try:
        rev = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if rev == head else f"behind (newest is {head}; run `aitrader db upgrade`)"
    console.print(f"{redact(url)}: {rev or 'not initialised'} — {state}", highlight=False)
    if rev != head:
        raise typer.Exit(1)


@db_app.command("cleanup")
def cleanup_cmd(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Tenant (default: config tenant).")] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Days to keep (default: storage.retention_days).")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Delete decisions, metrics and equity snapshots older than the retention (never orders/fills/ledger)."""
    settings = settings_from(config)
    url = db or settings.storage.url
    engine = make_engine(url)
    try:
        ensure_current(engine)
        with tenant_scope(engine, tenant or settings.tenant, write=True) as ts:
            deleted = ts.cleanup(days or settings.storage.retention_days, now=now_ms())
    finally:
        engine.dispose()
    console.print(", ".join(f"{table}: {n} deleted" for table, n in deleted.items()), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
