"""The compiled engine core: which modules mypyc compiles, and when their compiled form may be used.

Why: a full-stack backtest runs the engine's Python per event (order manager, simulated venue, ledger,
risk, feed), tens of thousands of times per pair. mypyc compiles exactly these modules, from the same
typed source, to C extensions (about 3x the speed of the interpreted path in bench (b)); paper and
live run the same compiled code, so the engine stays one engine. Nothing needs it: without a C
compiler, or with `AITRADER_PURE=1`, the same modules run interpreted.

When it is used: `make native` (run by `make test`, `make run` and `make bench`) compiles `MODULES`
in place (`tools/build_native.py`) and records each source's sha256 in `_native.json` beside this
file. At `import aitrader`, `guard()` compares them with the sources on disk. If any differs (a source
was edited after the build), or the manifest is missing or from another interpreter, or
`AITRADER_PURE=1`, the extension modules are bypassed, all of them together (compiled modules call
each other directly, so a mix would run stale code), and the sources are imported instead; a stale
build says so once on stderr.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# the per-event path of the engine, and what it calls per event; a module here must not be subclassed
# or monkeypatched by interpreted code (mypyc's native classes allow neither)
MODULES: tuple[str, ...] = (
    "aitrader.accounting.entries",
    "aitrader.accounting.ledger",
    "aitrader.accounting.positions",
    "aitrader.backtest.sizing",
    "aitrader.core.candles",
    "aitrader.core.clock",
    "aitrader.core.decisions",
    "aitrader.core.ids",
    "aitrader.core.orders",
    "aitrader.core.ports",
    "aitrader.core.prices",
    "aitrader.engine.decisions",
    "aitrader.engine.engine",
    "aitrader.engine.feed",
    "aitrader.engine.interest",
    "aitrader.engine.recorder",
    "aitrader.execution.order_manager",
    "aitrader.risk.equity_guard",
    "aitrader.risk.kelly",
    "aitrader.risk.manager",
    "aitrader.risk.orders",
    "aitrader.risk.rejection",
    "aitrader.venues.markets",
    "aitrader.venues.sim_models",
    "aitrader.venues.simulated",
)
GROUP = "aitrader._core"  # mypyc's shared library: aitrader/_core__mypyc.<ext>
PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST = PACKAGE_DIR / "_native.json"
PURE_ENV = "AITRADER_PURE"


@dataclass(frozen=True, slots=True)
class NativeState:
    """`active`: the compiled modules are imported; `reason`: why not, for humans (empty when active)."""

    active: bool
    reason: str
    built: bool  # extension modules exist on disk (used or not)


def source_path(module: str, root: Path = PACKAGE_DIR) -> Path:
    """`aitrader.engine.feed` -> <root>/engine/feed.py."""
    return root.joinpath(*module.split(".")[1:]).with_suffix(".py")


def extension_paths(module: str, root: Path = PACKAGE_DIR) -> list[Path]:
    src = source_path(module, root)
    stem = src.with_suffix("")
    return [p for suf in importlib.machinery.EXTENSION_SUFFIXES if (p := Path(str(stem) + suf)).exists()]


def source_hashes(modules: Sequence[str] = MODULES, root: Path = PACKAGE_DIR) -> dict[str, str]:
    return {m: hashlib.sha256(source_path(m, root).read_bytes()).hexdigest() for m in modules}


def manifest_for(hashes: Mapping[str, str]) -> dict[str, object]:
    """What `tools/build_native.py` writes after a successful build."""
    return {"cache_tag": sys.implementation.cache_tag, "modules": dict(hashes)}


def state(
    modules: Sequence[str] = MODULES,
    root: Path = PACKAGE_DIR,
    env: Mapping[str, str] = os.environ,
) -> NativeState:
    """Decide whether the compiled modules under `root` may be imported (see the module docstring)."""
    built = any(extension_paths(m, root) for m in modules)
    if not built:
        return NativeState(False, "not built (make native)", False)
    if env.get(PURE_ENV, "") not in ("", "0"):
        return NativeState(False, f"{PURE_ENV} is set", True)
    try:
        manifest = json.loads((root / MANIFEST.name).read_text(encoding="utf-8"))
        recorded = manifest["modules"]
        tag = manifest["cache_tag"]
    except (OSError, ValueError, KeyError, TypeError):
        return NativeState(False, "stale: no readable build manifest (make native)", True)
    if tag != sys.implementation.cache_tag:
        return NativeState(False, f"stale: built for {tag}, running {sys.implementation.cache_tag}", True)
    if not isinstance(recorded, dict) or set(recorded) != set(modules):
        return NativeState(False, "stale: built for another module list (make native)", True)
    try:
        current = source_hashes(modules, root)
    except OSError as e:
        return NativeState(False, f"stale: cannot read a source ({e})", True)
    changed = sorted(m for m in modules if recorded.get(m) != current[m])
    if changed:
        more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
        return NativeState(False, f"stale: {changed[0]}{more} changed since the build (make native)", True)
    return NativeState(True, "", True)


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the listed modules from their .py files, ahead of the extension modules beside them."""

    def __init__(self, modules: Sequence[str], root: Path) -> None:
        self._paths = {m: source_path(m, root) for m in modules}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        src = self._paths.get(fullname)
        return None if src is None else importlib.util.spec_from_file_location(fullname, src)


STATE = NativeState(False, "guard() not run", False)


def guard() -> NativeState:
    """Run once by `aitrader/__init__.py`, before any of `MODULES` is imported."""
    global STATE
    STATE = state()
    if not STATE.active and STATE.built:
        sys.meta_path.insert(0, _SourceFirst(MODULES, PACKAGE_DIR))
        if STATE.reason.startswith("stale"):
            warnings.warn(f"aitrader: compiled core not used, {STATE.reason}", RuntimeWarning, stacklevel=2)
    return STATE


def describe() -> str:
    """Which engine core this process runs, in one line (printed by the benchmarks)."""
    return "compiled (mypyc)" if STATE.active else f"interpreted ({STATE.reason})"
