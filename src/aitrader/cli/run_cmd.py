"""`aitrader run`: a paper or live session with the dashboard, until Ctrl-C (or `--duration`).

paper = live market data from the exchange (`exchange.api_url`/`ws_url` may point at our simulator)
and the simulated venue on those prices; live = the same with orders on the exchange (credentials
from AITRADER_SECRET_EXCHANGE_KEY / AITRADER_SECRET_EXCHANGE_SECRET). The API binds 127.0.0.1 unless
configured otherwise; a public bind needs `api.tls_certfile`/`api.tls_keyfile` (then it serves
HTTPS) or `--insecure-public`, as for `aitrader api`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from aitrader.cli.common import ConfigOption, console, settings_from
from aitrader.core.errors import ConfigError


def run(
    config: ConfigOption = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="paper or live (default: config `mode`).")
    ] = None,
    api: Annotated[bool, typer.Option("--api/--no-api", help="Serve the API and dashboard.")] = True,
    port: Annotated[int | None, typer.Option("--port", help="API port (default: api.port).")] = None,
    insecure_public: Annotated[
        bool,
        typer.Option("--insecure-public", help="Allow a public API bind without TLS (behind a TLS proxy)."),
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option("--duration", help="Stop after this many seconds (default: run until Ctrl-C)."),
    ] = None,
) -> None:
    """Run a paper or live trading session (state in storage, restored on restart)."""
    from aitrader.cli.api_cmd import check_bind
    from aitrader.runtime.launch import run_session
    from aitrader.runtime.session import SessionOptions

    settings = settings_from(config)
    chosen = mode or settings.mode
    if chosen not in ("paper", "live"):
        raise ConfigError(f"--mode must be paper or live, not {chosen!r} (backtests: `aitrader backtest`)")
    if api:
        check_bind(settings.api.host, settings.api, insecure_public)
    console.print(
        f"aitrader {chosen} session: {settings.exchange.name} {', '.join(settings.exchange.pairs)} "
        f"{settings.data.timeframe}, tenant {settings.tenant} (Ctrl-C to stop)",
        highlight=False,
    )
    opts = SessionOptions(mode=chosen, duration_s=duration, api=api, api_port=port)
    asyncio.run(run_session(settings, opts, console))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
