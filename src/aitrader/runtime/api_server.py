"""The control plane inside a session: `api.wiring.build_app` served by uvicorn on the session's loop.

Why a Server subclass: uvicorn installs its own SIGINT/SIGTERM handlers while it serves (and
re-raises the signal when it stops), which would take Ctrl-C away from the session's supervisor.
Here the supervisor owns the signals; cancelling this task stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from sqlalchemy import Engine

from aitrader.config import Settings
from aitrader.core.commands import CommandQueue


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_api(
    settings: Settings,
    db: Engine,
    commands: CommandQueue,
    port: int | None = None,
    ready: Callable[[str], None] | None = None,
    on_app: Callable[[Any], None] | None = None,
) -> None:
    """Serve until cancelled; `on_app(app)` sees the built app first (its `state.telegram` handle)."""
    from aitrader.api.wiring import build_app

    app = build_app(settings, db, commands=commands)
    if on_app is not None:
        on_app(app)
    host = settings.api.host
    tls = settings.api.tls_certfile is not None and settings.api.tls_keyfile is not None
    config = uvicorn.Config(
        app,
        host=host,
        port=port or settings.api.port,
        ssl_certfile=str(settings.api.tls_certfile) if tls else None,
        ssl_keyfile=str(settings.api.tls_keyfile) if tls else None,
        log_level="warning",
        proxy_headers=False,
        lifespan="on",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the bind error
                raise OSError(f"API server stopped before serving on {host}:{config.port}")
            await asyncio.sleep(0.05)
        if ready is not None:
            ready(f"{'https' if tls else 'http'}://{host}:{config.port}")
        await asyncio.shield(task)  # cancelling us must not cancel uvicorn mid-request: it exits below
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 5)
