"""Finding strategies by name: built-ins, user files and installed plugins.

Sources, in order: the built-in modules; every `*.py` in the directories of `AITRADER_STRATEGY_PATH`
(os.pathsep separated) and in `./user_strategies/` when present; entry points of the group
`aitrader.strategies` (each pointing at a Strategy subclass). Discovery runs on every call so an
edited user file is picked up without a restart. Two classes with one name are an error naming both
sources, never a silent override; a file that fails to import is an error naming the file.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from aitrader.core.errors import StrategyError
from aitrader.strategies.base import Strategy, check_class
from aitrader.strategies.builtin import MODULES as BUILTIN_MODULES

ENV_PATH = "AITRADER_STRATEGY_PATH"
LOCAL_DIR = "user_strategies"
ENTRY_POINT_GROUP = "aitrader.strategies"


@dataclass(frozen=True, slots=True)
class Entry:
    """A discovered strategy class and where it came from (`builtin`, a file path, `entry point x`)."""

    cls: type[Strategy]
    source: str


def _strategies_in(module: ModuleType) -> list[type[Strategy]]:
    """Concrete Strategy subclasses defined in (not imported into) `module`."""
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]


def user_dirs() -> list[Path]:
    """Directories searched for user strategy files, in order, without duplicates."""
    dirs = [Path(d) for d in os.environ.get(ENV_PATH, "").split(os.pathsep) if d.strip()]
    local = Path.cwd() / LOCAL_DIR
    if local.is_dir():
        dirs.append(local)
    seen: set[Path] = set()
    out = []
    for d in dirs:
        r = d.resolve()
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def _load_file(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    mod_name = f"aitrader_user_strategies.{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses and pickling look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        sys.modules.pop(mod_name, None)
        where = ""
        if isinstance(e, SyntaxError) and e.lineno:
            where = f" (line {e.lineno})"
        raise StrategyError(
            f"user strategy file {path}{where} failed to load: {type(e).__name__}: {e}"
        ) from e
    return module


def _builtin_entries() -> Iterable[Entry]:
    for name in BUILTIN_MODULES:
        module = importlib.import_module(f"aitrader.strategies.builtin.{name}")
        for cls in _strategies_in(module):
            yield Entry(cls, "builtin")


def _user_entries() -> Iterable[Entry]:
    for d in user_dirs():
        if not d.is_dir():
            raise StrategyError(f"{ENV_PATH} names {d}, which is not a directory")
        for path in sorted(d.glob("*.py")):
            if path.name.startswith("_"):
                continue
            for cls in _strategies_in(_load_file(path)):
                yield Entry(cls, str(path))


def _plugin_entries() -> Iterable[Entry]:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"entry point {ep.name} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as e:
            raise StrategyError(f"{source} failed to load: {type(e).__name__}: {e}") from e
        if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
            raise StrategyError(f"{source} is not a Strategy subclass")
        yield Entry(obj, source)


def discover() -> dict[str, Entry]:
    """Every strategy by name with its source; StrategyError on a name clash or a broken source."""
    found: dict[str, Entry] = {}
    for entry in (*_builtin_entries(), *_user_entries(), *_plugin_entries()):
        check_class(entry.cls, entry.source)
        other = found.get(entry.cls.name)
        if other is not None and other.cls is not entry.cls:
            raise StrategyError(
                f"strategy name {entry.cls.name!r} is defined twice: in {other.source} "
                f"and in {entry.source}; rename one of them"
            )
        found[entry.cls.name] = entry
    return found


def available() -> dict[str, type[Strategy]]:
    return {name: e.cls for name, e in discover().items()}


def get(name: str) -> type[Strategy]:
    found = discover()
    if name not in found:
        raise StrategyError(f"unknown strategy {name!r}; available: {', '.join(sorted(found))}")
    return found[name].cls


def create(name: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """An instance with validated parameters (StrategyError naming the bad one)."""
    return get(name)(**dict(params or {}))
