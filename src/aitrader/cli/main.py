"""The `aitrader` command.

Each command group lives in its own module under `aitrader.cli` and exposes `register(app)`; this
module only assembles them and turns errors into one clear line (a traceback only with `--debug`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from aitrader import __version__
from aitrader.core.errors import AitraderError

# command modules, in the order `aitrader --help` lists them; the command each module registers is
# its name without a `_cmd` suffix
COMMAND_MODULES = (
    "config_cmd",
    "data",
    "strategy",
    "backtest",
    "hyperopt",
    "run_cmd",
    "db",
    "simulator",
    "api_cmd",
    "keys",
    "ml",
    "demo",
)

err_console = Console(stderr=True)

app = typer.Typer(
    name="aitrader",
    help="aitrader: one engine for backtest, paper and live crypto trading.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aitrader {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks and debug logs.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _requested_modules(argv: list[str]) -> tuple[str, ...]:
    """Only the module of the command being run is imported (some pull in scikit-learn, SQLAlchemy or
    aiohttp, seconds of start-up); `aitrader --help`, completion and unknown commands import them all."""
    words = [a for a in argv[1:] if not a.startswith("-")]
    if words and Path(argv[0]).name in ("aitrader", "main.py", "__main__.py"):
        for name in COMMAND_MODULES:
            if name.removesuffix("_cmd") == words[0]:
                return (name,)
    return COMMAND_MODULES


def _register_all() -> None:
    for name in _requested_modules(sys.argv):
        try:
            module = importlib.import_module(f"aitrader.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"aitrader.cli.{name}":
                continue  # that command group is not part of this build yet
            raise
        module.register(app)


_register_all()


def _args(argv: list[str]) -> tuple[list[str], bool]:
    """The command line with `--debug` moved to the front, so it works anywhere on the line
    (`aitrader data import F --debug` too), not only before the command."""
    words = argv[1:]
    cut = words.index("--") if "--" in words else len(words)
    debug = "--debug" in words[:cut]
    if debug:
        words = ["--debug", *[w for w in words[:cut] if w != "--debug"], *words[cut:]]
    return words, debug


def run() -> None:
    """Entry point: domain errors become `error: <message>` and exit code 2; usage errors (unknown
    command or option, bad value) one line too, exit code 2 as click gives them; an unexpected
    exception one line and exit code 2 as well (README: every error exits 2). Deliberate verdicts
    (`config check`, `data check` finding problems) exit 1 themselves."""
    args, debug = _args(sys.argv)
    try:
        code = app(args=args, prog_name="aitrader", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except TyperException as e:  # typer's own (vendored click) usage errors
        if type(e).__name__ == "NoArgsIsHelpError":
            e.show()  # type: ignore[attr-defined]  # `aitrader` alone: the help, as before
            sys.exit(0)
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err_console.print(f"[bold red]error:[/] {e.format_message()}{hint}", highlight=False, soft_wrap=True)
        sys.exit(2 if ctx is not None else e.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except AitraderError as e:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as e:  # an unexpected failure still gets one line unless --debug
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {type(e).__name__}: {e} (run with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    run()
