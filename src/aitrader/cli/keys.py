"""`aitrader keys ...`: create, list and revoke API keys (the secret is shown once, at creation)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from aitrader.cli.common import ConfigOption, JsonFlag, console
from aitrader.cli.db import DbOption, resolve_db_url
from aitrader.core.time import ms_to_iso
from aitrader.security.key_store import KeyInfo, create_api_key, list_api_keys, revoke_api_key
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import ensure_current

keys_app = typer.Typer(help="API keys for the REST API and dashboard.", no_args_is_help=True)


def _engine(db: str | None, config: ConfigOption) -> Engine:
    engine = make_engine(resolve_db_url(db, config))
    try:
        ensure_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _when(ms: int | None) -> str:
    return ms_to_iso(ms) if ms is not None else "-"


def _as_dict(k: KeyInfo) -> dict[str, object]:
    return {
        "prefix": k.prefix,
        "tenant": k.tenant_id,
        "scope": k.scope.value,
        "label": k.label,
        "created_ms": k.created_ms,
        "last_used_ms": k.last_used_ms,
        "revoked_ms": k.revoked_ms,
    }


@keys_app.command("create")
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id (created with its first key).")],
    scope: Annotated[str, typer.Option("--scope", help="read, control or admin.")],
    label: Annotated[str, typer.Option("--label", help="What the key is for.")] = "",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Create a key and print it once: it cannot be shown again (only its hash is stored)."""
    engine = _engine(db, config)
    try:
        created = create_api_key(engine, tenant, scope, label=label)
    finally:
        engine.dispose()
    if created.tenant_created:
        console.print(f"created tenant [bold]{tenant}[/]", highlight=False)
    console.print(
        f"API key for tenant [bold]{tenant}[/], scope [bold]{created.info.scope}[/] "
        f"(prefix {created.info.prefix}). Store it now; it will not be shown again:",
        highlight=False,
    )
    typer.echo(created.plaintext)


@keys_app.command("list")
def list_(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's keys.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Keys with prefix, scope, creation, last use and revocation (never the secret)."""
    engine = _engine(db, config)
    try:
        keys = list_api_keys(engine, tenant)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([_as_dict(k) for k in keys]))
        return
    table = Table()
    table.add_column("prefix", no_wrap=True, min_width=12)
    for name in ("tenant", "scope", "label"):
        table.add_column(name, overflow="fold")
    for name in ("created", "last used", "revoked"):
        table.add_column(name, overflow="fold")
    for k in keys:
        table.add_row(
            k.prefix,
            k.tenant_id,
            k.scope.value,
            k.label,
            _when(k.created_ms),
            _when(k.last_used_ms),
            _when(k.revoked_ms),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (see `keys list`).")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key at once; requests with it are refused from now on."""
    engine = _engine(db, config)
    try:
        info = revoke_api_key(engine, prefix)
    finally:
        engine.dispose()
    when = _when(info.revoked_ms)
    console.print(f"[green]✓[/] key {info.prefix} of tenant {info.tenant_id} revoked at {when}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
