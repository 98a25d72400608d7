"""Options and helpers shared by command groups (config loading, data directory resolution)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aitrader.config import Settings, load_settings

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    # piped or captured output: rich would assume 80 columns and cut the data tables' timestamps
    # and counts into ellipses; a log or a `| less` has room (COLUMNS still wins when set)
    console.width = 160

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (AITRADER_* environment variables override it)."),
]
DatadirOption = Annotated[
    Path | None, typer.Option("--datadir", help="Historical data directory (default: data.datadir).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of a table.")]


def settings_from(config: Path | None) -> Settings:
    return load_settings(config)


def resolve_datadir(datadir: Path | None, config: Path | None) -> Path:
    return datadir if datadir is not None else settings_from(config).data.datadir
