"""Assemble the app from settings and a database: the one place `aitrader api` and `aitrader run`
share, so both serve exactly the same control plane.

`commands` is the engine's command queue when the engine runs in this process; None for the API on
its own, where actions answer 503 instead of queuing commands nobody will execute.

With `telegram.enabled` the Telegram bot is part of the same app: built here (so a missing token is
a ConfigError before anything binds), started and stopped by the app's lifespan, over the same
control and audit log as the REST API. `app.state.telegram` is its handle (None when disabled); an
engine in the same process sends fills and alerts through `app.state.telegram.notifier`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from aitrader.api.app import create_app
from aitrader.api.auth import KeyVerifier
from aitrader.api.control import CommandBus, EngineControl
from aitrader.api.snapshots import DEFAULT_TTL_S, snapshot_controls
from aitrader.api.store_control import StoreBackedControl
from aitrader.api.store_keys import StoreKeyVerifier
from aitrader.api.store_ports import StoreAuditLog, StoreTenantDirectory
from aitrader.config import Settings
from aitrader.core.commands import CommandQueue
from aitrader.telegram.runner import start_telegram


def build_app(
    settings: Settings,
    db: Engine,
    *,
    commands: CommandQueue | None = None,
    keys: KeyVerifier | None = None,
    **kwargs: Any,
) -> FastAPI:
    bus = CommandBus(commands)

    def store_control(tenant_id: str) -> EngineControl:
        return StoreBackedControl(tenant_id, db=db, settings=settings, bus=bus)

    # one snapshot cache for the API and the bot, so an action in either refreshes both
    control_factory = snapshot_controls(store_control, kwargs.pop("snapshot_ttl_s", DEFAULT_TTL_S))

    audit = StoreAuditLog(db)
    telegram = start_telegram(settings, control_factory, audit=audit)
    app = create_app(
        settings,
        control_factory,
        keys=keys if keys is not None else StoreKeyVerifier(db),
        audit=audit,
        tenants=StoreTenantDirectory(db),
        services=[telegram] if telegram is not None else [],
        **kwargs,
    )
    app.state.telegram = telegram
    return app
