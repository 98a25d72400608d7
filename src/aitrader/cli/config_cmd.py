"""`aitrader config ...`: validate configuration files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aitrader.cli.common import console
from aitrader.config import check_config, load_settings

config_app = typer.Typer(help="Validate and show configuration.", no_args_is_help=True)


@config_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="YAML config file to validate.")]) -> None:
    """Print every problem with its field path; exit 1 when there is any."""
    problems = check_config(file)
    if problems:
        for p in problems:
            console.print(f"[red]✗[/] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {file} is valid")


@config_app.command("show")
def show(file: Annotated[Path | None, typer.Argument(help="YAML config file.")] = None) -> None:
    """Print the effective configuration (file + environment + defaults) as JSON."""
    console.print_json(load_settings(file).model_dump_json())


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
