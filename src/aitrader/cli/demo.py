"""`aitrader demo`: what `make run` runs — a paper session against the loopback exchange simulator.

The simulator replays the bundled real candles behind Kraken's API on 127.0.0.1; a paper session
trades them live with the dashboard on 127.0.0.1:PORT (URL and key printed). Runs until Ctrl-C or
`--duration`. `--backtest` runs the earlier demo instead: a backtest of the same data with a report.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from aitrader.cli.common import console


def demo(
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the demo keeps its data and reports.")
    ] = Path("var/demo"),
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Run the backtest demo (report on disk) instead.")
    ] = False,
    speed: Annotated[float, typer.Option("--speed", help="Candles (5m) replayed per second.")] = 1.0,
    port: Annotated[int, typer.Option("--port", help="Dashboard port on 127.0.0.1.")] = 8080,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Run the demo on the bundled real data (what `make run` does)."""
    if backtest:
        from aitrader.backtest.demo import run_demo as run_backtest_demo

        result = run_backtest_demo(workdir)
        console.print(f"HTML report: [bold]{result.html_path.resolve()}[/]")
        console.print(f"JSON report: {result.json_path.resolve()}")
        return
    from aitrader.runtime.demo import DemoOptions, run_demo

    if speed <= 0:
        raise typer.BadParameter("--speed must be > 0")
    opts = DemoOptions(workdir=workdir, candles_per_s=speed, port=port, duration_s=duration)
    asyncio.run(run_demo(opts, console))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
