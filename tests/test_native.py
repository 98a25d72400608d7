"""The compiled engine core (`aitrader.native`): when it is used, and that both forms give one engine.

The guard decides from files on disk; these tests build small fake package trees to show each case,
then check the real tree: with the core compiled and current, the engine modules are extension
modules, `AITRADER_PURE=1` brings back the sources, and the interpreted engine passes the trade
fingerprints and the tests that need to patch engine code (skipped in a compiled run).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aitrader import native

MODS = ("aitrader.x.a", "aitrader.x.b")
EXT = importlib.machinery.EXTENSION_SUFFIXES[0]
ROOT = Path(__file__).resolve().parents[1]


def _tree(tmp_path: Path, *, built: bool = True, manifest: bool = True) -> Path:
    root = tmp_path / "aitrader"
    (root / "x").mkdir(parents=True)
    for m in MODS:
        src = native.source_path(m, root)
        src.write_text(f"NAME = {m!r}\n", encoding="utf-8")
        if built:
            Path(str(src.with_suffix("")) + EXT).write_bytes(b"not really an extension")
    if manifest:
        data = native.manifest_for(native.source_hashes(MODS, root))
        (root / native.MANIFEST.name).write_text(json.dumps(data), encoding="utf-8")
    return root


def test_current_build_is_used(tmp_path: Path) -> None:
    got = native.state(MODS, _tree(tmp_path), env={})
    assert got.active and got.built and got.reason == ""


def test_nothing_built_is_interpreted_without_a_warning_reason(tmp_path: Path) -> None:
    got = native.state(MODS, _tree(tmp_path, built=False), env={})
    assert not got.active and not got.built and not got.reason.startswith("stale")


def test_an_edited_source_makes_the_whole_build_stale(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    native.source_path("aitrader.x.b", root).write_text("NAME = 'edited'\n", encoding="utf-8")
    got = native.state(MODS, root, env={})
    assert not got.active and got.reason.startswith("stale") and "aitrader.x.b" in got.reason


@pytest.mark.parametrize(
    "change",
    ["no manifest", "garbage", "other interpreter", "other module list"],
)
def test_an_unreadable_or_foreign_manifest_is_stale(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path, manifest=change != "no manifest")
    path = root / native.MANIFEST.name
    if change == "garbage":
        path.write_text("{not json", encoding="utf-8")
    elif change == "other interpreter":
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**data, "cache_tag": "cpython-399"}), encoding="utf-8")
    elif change == "other module list":
        data = json.loads(path.read_text(encoding="utf-8"))
        data["modules"].pop("aitrader.x.a")
        path.write_text(json.dumps(data), encoding="utf-8")
    got = native.state(MODS, root, env={})
    assert not got.active and got.built and got.reason.startswith("stale")


def test_pure_env_wins_over_a_current_build(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    assert not native.state(MODS, root, env={native.PURE_ENV: "1"}).active
    assert native.state(MODS, root, env={native.PURE_ENV: "0"}).active


def test_source_first_finder_skips_the_extension_beside_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package `nat_probe` whose module has a broken extension file beside its source: imported as
    usual, the extension is tried (and fails); through the finder, the source is imported."""
    pkg = tmp_path / "nat_probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "mod.py").write_text("WHERE = 'source'\n", encoding="utf-8")
    (pkg / f"mod{EXT}").write_bytes(b"\x7fELF broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError):
        importlib.import_module("nat_probe.mod")
    sys.modules.pop("nat_probe.mod", None)
    finder = native._SourceFirst(["nat_probe.mod"], pkg)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    mod = importlib.import_module("nat_probe.mod")
    assert mod.WHERE == "source" and mod.__file__ == str(pkg / "mod.py")
    sys.modules.pop("nat_probe.mod", None)
    sys.modules.pop("nat_probe", None)


def test_this_process_uses_what_the_guard_decided() -> None:
    import aitrader.engine.engine as engine

    file = engine.__file__ or ""
    if native.STATE.active:
        assert file.endswith(EXT), file
    else:
        assert file.endswith(".py"), file


def _pure_env() -> dict[str, str]:
    return {**os.environ, native.PURE_ENV: "1"}


def test_pure_env_imports_the_sources_in_a_fresh_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import aitrader.engine.engine as e, aitrader.native as n; "
         "print(e.__file__); print(n.describe())"],
        env=_pure_env(), capture_output=True, text=True, check=True, timeout=60,
    )
    file, described = out.stdout.splitlines()
    assert file.endswith("engine.py") and described.startswith("interpreted")


@pytest.mark.slow
@pytest.mark.skipif(not native.STATE.active, reason="no compiled core here: this run was interpreted already")
@pytest.mark.parametrize(
    "args",
    [["-m", "interpreted", "tests"], ["tests/backtest/test_fingerprint.py"]],
    ids=["tests-that-patch-engine-code", "fingerprints"],
)
def test_interpreted_engine_passes(args: list[str]) -> None:
    """What the compiled run skipped, and the fingerprints the compiled run matched, interpreted."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],  # -q comes from addopts
        cwd=ROOT, env=_pure_env(), capture_output=True, text=True, timeout=900,
    )
    tail = "\n".join(out.stdout.splitlines()[-15:])
    assert out.returncode == 0, tail
    summary = tail.splitlines()[-1]
    assert re.search(r"\b[1-9]\d* passed", summary) and "skipped" not in summary, tail
