"""`aitrader config ...`: validate configuration files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from aitrader.cli.common import console
from aitrader.config import StrategyRef, check_config, load_settings, read_yaml
from aitrader.core.errors import AitraderError, StrategyError
from aitrader.strategies import registry
from aitrader.strategies.base import Strategy

config_app = typer.Typer(help="Validate and show configuration.", no_args_is_help=True)


def _file_refs(file: Path) -> list[tuple[int, StrategyRef]]:
    """The well-formed `strategies` entries of the file, by index (malformed ones are already reported)."""
    try:
        entries = read_yaml(file).get("strategies")
    except AitraderError:
        return []
    if not isinstance(entries, list):
        return []
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        try:
            out.append((i, StrategyRef.model_validate(entry)))
        except ValidationError:
            continue
    return out


def _param_problems(cls: type[Strategy], params: Mapping[str, Any], where: str) -> list[str]:
    declared = {p.name: p for p in cls.params}
    problems = []
    for key, value in params.items():
        param = declared.get(key)
        if param is None:
            known = ", ".join(declared) or "none"
            problems.append(f"{where}.{key}: unknown parameter of strategy {cls.name} (known: {known})")
            continue
        try:
            param.coerce(value)
        except StrategyError as e:
            problems.append(f"{where}.{key}: {str(e).removeprefix(f'parameter {key}: ')}")
    return problems


def strategy_problems(refs: Iterable[tuple[int, StrategyRef]]) -> list[str]:
    """What `registry.create` would refuse for each configured strategy, by field path."""
    try:
        found = registry.available()
    except StrategyError as e:  # a broken user file or plugin, a name clash
        return [f"strategies: {e}"]
    problems = []
    for i, ref in refs:
        cls = found.get(ref.name)
        if cls is None:
            problems.append(
                f"strategies.{i}.name: unknown strategy {ref.name!r}; available: {', '.join(sorted(found))}"
            )
            continue
        bad = _param_problems(cls, ref.params, f"strategies.{i}.params")
        if not bad:
            try:  # cross-parameter checks (`Strategy.validate`, e.g. fast < slow)
                cls(**ref.params)
            except StrategyError as e:
                bad = [f"strategies.{i}.params: {e}"]
        problems.extend(bad)
    return problems


@config_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="YAML config file to validate.")]) -> None:
    """Print every problem with its field path; exit 1 when there is any."""
    problems = check_config(file)
    # valid: the effective list (file + environment + defaults), as a backtest or a session gets it;
    # invalid: still the strategies the file names, so every problem shows at once
    refs = _file_refs(file) if problems else list(enumerate(load_settings(file).strategies))
    problems += strategy_problems(refs)
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
