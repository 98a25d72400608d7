"""`aitrader strategy ...`: list the strategies we can find and prove one has no lookahead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from aitrader.cli.common import JsonFlag, console
from aitrader.strategies import registry
from aitrader.strategies.lookahead import check_lookahead
from aitrader.strategies.sample import DEFAULT_SAMPLE, load_ohlcv_csv, sample_path

strategy_app = typer.Typer(help="List strategies and check them for lookahead bias.", no_args_is_help=True)


@strategy_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """Every strategy found (built-in, user folder, plugins) with parameters, ranges and source."""
    found = registry.discover()
    if as_json:
        rows = [
            {
                "name": name,
                "description": e.cls.description,
                "style": e.cls.style,
                "source": e.source,
                "params": [p.describe() for p in e.cls.params],
            }
            for name, e in sorted(found.items())
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(found)} strategies", show_lines=False)
    for col in ("name", "description", "parameters: default \\[range]", "source"):
        table.add_column(col, overflow="fold")
    for name, e in sorted(found.items()):
        params = "\n".join(p.describe() for p in e.cls.params) or "-"
        table.add_row(escape(name), escape(e.cls.description), escape(params), escape(e.source))
    console.print(table)


@strategy_app.command("check-lookahead")
def check_lookahead_cmd(
    name: Annotated[str, typer.Argument(help="Strategy name (see `aitrader strategy list`).")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help=f"OHLCV CSV to check on (default: bundled real {DEFAULT_SAMPLE})."),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", min=2, help="Number of cut points.")] = 40,
) -> None:
    """Recompute the strategy on truncated histories; exit 1 if any past signal changes."""
    candles = load_ohlcv_csv(data if data is not None else sample_path())
    report = check_lookahead(registry.create(name), candles, samples=samples)
    if report.ok:
        console.print(f"[green]✓[/] {report.summary()}", highlight=False, soft_wrap=True)
        return
    console.print(f"[red]✗[/] {report.summary()}", highlight=False, soft_wrap=True)
    for v in report.violations[:10]:
        console.print(
            f"  cut at {v.cut}: bar {v.bar} {v.field} = {v.full:g} with full history, {v.prefix:g} without",
            highlight=False,
        )
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(strategy_app, name="strategy")
