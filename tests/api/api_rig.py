"""Builds the real app over a seeded SQLite database, with real API keys (created through
`security.key_store`, verified by `api/store_keys.py`) for every scope and both tenants."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from api_engine import CommandConsumer
from api_seed import ALPHA, BETA, make_db, seed
from fastapi import FastAPI
from sqlalchemy import Engine

from aitrader.api.app import create_app
from aitrader.api.control import CommandBus, EngineControl
from aitrader.api.store_control import StoreBackedControl
from aitrader.api.store_keys import StoreKeyVerifier
from aitrader.api.store_ports import StoreAuditLog, StoreTenantDirectory
from aitrader.config import Settings
from aitrader.security.key_store import create_api_key, revoke_api_key


@dataclass
class Rig:
    app: FastAPI
    db: Engine
    keys: dict[str, str]
    verifier: StoreKeyVerifier
    prefixes: dict[str, str]
    queue: asyncio.Queue[Any]
    settings: Settings
    now: int
    extras: dict[str, Any] = field(default_factory=dict)


def build_rig(
    tmp_path: Path,
    *,
    live_interval_s: float = 1.0,
    rate_limit_per_minute: int = 100_000,
    ip_rate_limit_per_minute: int | None = None,
    max_body_bytes: int = 65_536,
) -> Rig:
    db = make_db(tmp_path / "api.db")
    now = seed(db)
    settings = Settings(
        tenant=ALPHA,
        exchange={"name": "binance", "pairs": ["BTC/USDT", "ETH/USDT"]},
        api={"max_body_bytes": max_body_bytes},
        data={"datadir": str(tmp_path / "data")},
    )
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=100)
    bus = CommandBus(queue, reply_timeout_s=5)

    def factory(tenant_id: str) -> EngineControl:
        return StoreBackedControl(tenant_id, db=db, settings=settings, bus=bus)

    verifier = StoreKeyVerifier(db)
    created = {
        "read": create_api_key(db, ALPHA, "read"),
        "control": create_api_key(db, ALPHA, "control"),
        "admin": create_api_key(db, ALPHA, "admin"),
        "beta_admin": create_api_key(db, BETA, "admin"),
        "beta_control": create_api_key(db, BETA, "control"),
    }
    keys = {k: c.plaintext for k, c in created.items()}
    prefixes = {k: c.info.prefix for k, c in created.items()}
    key_ids = {k: c.info.id for k, c in created.items()}
    app = create_app(
        settings,
        factory,
        keys=verifier,
        audit=StoreAuditLog(db),
        tenants=StoreTenantDirectory(db),
        live_interval_s=live_interval_s,
        rate_limit_per_minute=rate_limit_per_minute,
        ip_rate_limit_per_minute=ip_rate_limit_per_minute,
    )
    rig = Rig(app, db, keys, verifier, prefixes, queue, settings, now)
    rig.extras["key_ids"] = key_ids
    return rig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApp:
    """uvicorn in a thread on an ephemeral loopback port, with the engine-side consumer in its loop."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.port = free_port()
        self.consumer: CommandConsumer | None = None
        config = uvicorn.Config(
            rig.app, host="127.0.0.1", port=self.port, log_level="warning", ws="websockets", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.consumer = CommandConsumer(self.rig.db, self.rig.queue)
            self.consumer.start()
            await self.server.serve()
            await self.consumer.stop()

        asyncio.run(main())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def revoke(rig: Rig, name: str) -> None:
    revoke_api_key(rig.db, rig.prefixes[name])
