"""`aitrader simulator`: serve replayed real candles behind Kraken's or Coinbase Advanced Trade's
REST and WebSocket APIs.

Point any ccxt client (or `aitrader run --mode paper` with `exchange.api_url`/`ws_url`) at it to
trade against history at any speed, with faults on demand; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer

from aitrader.cli.common import console
from aitrader.core.errors import AitraderError, ConfigError
from aitrader.core.time import parse_time
from aitrader.venues.simulator import CoinbaseSimulator, FaultSpec, KrakenSimulator, load_series

_BUNDLED = Path(__file__).resolve().parents[1] / "sample_data" / "ohlcv"


def _ws_urls(exchange: str, ws_url: str) -> str:
    """Where each exchange's sockets live: Kraken's v2 endpoint; Coinbase's market and user feeds."""
    if exchange == "kraken":
        return f"{ws_url}/ws/v2"
    return f"{ws_url}/ws (market), {ws_url}/ws-user (user)"


def _balances(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        code, sep, amount = item.partition("=")
        if not sep or not code.strip() or not amount.strip():
            raise ConfigError(f"invalid --balance {item!r}: expected CODE=AMOUNT, e.g. BTC=1.5")
        out[code.strip().upper()] = amount.strip()
    return out


def simulator(
    exchange: Annotated[str, typer.Option("--exchange", help="API to speak: kraken or coinbase.")] = "kraken",
    host: Annotated[str, typer.Option("--host", help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0 = any free port).")] = 8765,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Candle CSV, one per pair (repeatable). Default: bundled ETH/BTC 5m."),
    ] = None,
    speed: Annotated[float, typer.Option("--speed", help="Simulated ms per real ms (0 = stopped).")] = 1.0,
    start: Annotated[
        str | None, typer.Option("--start", help="Replay start time (default: first candle).")
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help="NAME=VALUE,...: probabilities http_429, http_5xx, reject, partial, timeout_after_accept, "
            "drop_ws, duplicate_ws, reorder_ws; latencies in ms delay_ms (REST), ws_delay_ms and "
            "ws_jitter_ms (every WebSocket message); seed. "
            "E.g. http_429=0.05,delay_ms=50,ws_delay_ms=200,ws_jitter_ms=50,seed=7",
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--key", help="API key to accept (random if omitted).")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            envvar="AITRADER_SIM_SECRET",
            help="Kraken: base64 secret; Coinbase: PEM EC private key (generated if omitted).",
        ),
    ] = None,
    balance: Annotated[
        list[str] | None, typer.Option("--balance", help="Starting balance CODE=AMOUNT (repeatable).")
    ] = None,
) -> None:
    """Run the exchange simulator until interrupted."""
    if exchange not in ("kraken", "coinbase"):
        raise ConfigError(f"the simulator speaks kraken or coinbase, not {exchange!r}")
    files = data or [_BUNDLED / "bittrex_ETH_BTC-5m.csv"]
    series = [load_series(f) for f in files]
    spec = FaultSpec.parse(faults)
    start_ms = parse_time(start) if start else None
    venue = CoinbaseSimulator if exchange == "coinbase" else KrakenSimulator
    sim = venue(series, start_ms=start_ms, speed=speed, faults=spec)
    acc = sim.add_account(_balances(balance or ["BTC=1", "USDT=10000"]), api_key, secret)

    async def serve() -> None:
        try:
            await sim.start(host, port)
        except OSError as e:
            raise AitraderError(f"cannot listen on {host}:{port}: {e.strerror}") from None
        ws = _ws_urls(exchange, sim.ws_url)
        console.print(f"{exchange} simulator: REST {sim.base_url}  WebSocket {ws}", soft_wrap=True)
        console.print(f"pairs: {', '.join(s.symbol for s in series)}; speed x{speed}")
        console.print(f"api key: {acc.api_key}", soft_wrap=True)
        if secret is None:
            console.print(f"secret:  {acc.secret}", soft_wrap=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


def register(app: typer.Typer) -> None:
    app.command(
        "simulator",
        help="Serve replayed candles behind Kraken's or Coinbase's API (for paper trading and tests).",
    )(simulator)
