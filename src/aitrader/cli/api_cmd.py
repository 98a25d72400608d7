"""`aitrader api`: serve the control plane (REST, WebSocket, dashboard, metrics) on its own.

Binds 127.0.0.1 by default. A non-loopback address is refused unless TLS is configured
(`api.tls_certfile` and `api.tls_keyfile`) or `--insecure-public` says the operator terminates TLS
elsewhere and accepts the risk: API keys and session cookies must not cross a network in clear.

SIGTERM and Ctrl-C stop it gracefully (open requests finish, the Telegram bot stops polling) and the
process then exits 0; a second Ctrl-C forces the exit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from aitrader.cli.common import ConfigOption, console, settings_from
from aitrader.config import ApiConfig
from aitrader.core.errors import ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api: ApiConfig, insecure_public: bool) -> None:
    """Raise ConfigError for a public bind without TLS (and without the explicit override)."""
    if is_loopback(host) or insecure_public:
        return
    if api.tls_certfile is None or api.tls_keyfile is None:
        raise ConfigError(
            f"refusing to serve the API on non-loopback address {host} without TLS: set api.tls_certfile and "
            "api.tls_keyfile, or pass --insecure-public if a TLS proxy in front of it handles that"
        )
    for path in (api.tls_certfile, api.tls_keyfile):
        if not Path(path).is_file():
            raise ConfigError(f"TLS file not found: {path}")


class GracefulServer(uvicorn.Server):
    """uvicorn, except that a SIGTERM/SIGINT only asks for the graceful shutdown.

    Plain uvicorn re-raises the signal once it has shut down, so a cleanly stopped server dies
    "killed by SIGTERM" (exit -15), which service managers and scripts read as a crash.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def api(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: api.port).")] = None,
    insecure_public: Annotated[
        bool,
        typer.Option("--insecure-public", help="Allow a non-loopback bind without TLS (behind a TLS proxy)."),
    ] = False,
) -> None:
    """Serve the API and dashboard (keys: `aitrader keys create`)."""
    from aitrader.api.wiring import build_app
    from aitrader.storage.db import make_engine

    settings = settings_from(config)
    bind = host or settings.api.host
    check_bind(bind, settings.api, insecure_public)
    app = build_app(settings, make_engine(settings.storage.url))
    tls = settings.api.tls_certfile is not None and settings.api.tls_keyfile is not None
    scheme = "https" if tls else "http"
    console.print(f"aitrader API on {scheme}://{bind}:{port or settings.api.port} (Ctrl-C to stop)")
    server_config = uvicorn.Config(
        app,
        host=bind,
        port=port or settings.api.port,
        log_level="warning",
        ssl_certfile=str(settings.api.tls_certfile) if tls else None,
        ssl_keyfile=str(settings.api.tls_keyfile) if tls else None,
        proxy_headers=False,
        lifespan="on",
    )
    server = GracefulServer(server_config)
    server.run()
    if not server.started:  # bind error or failed startup; uvicorn has logged why
        sys.exit(3)


def register(app: typer.Typer) -> None:
    app.command("api")(api)
