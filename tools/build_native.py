"""Compile the engine core with mypyc, in place: `python tools/build_native.py [--force]`.

What and why: see `aitrader.native` (the module list, and how imports fall back to the sources). Run by
`make native`. Does nothing when the recorded build matches the sources. A failed build (no C compiler,
say) removes what it left, says why and exits 0: the engine then runs interpreted. The generated C
and object files go to `build/native/`; `make clean` removes them and the extension modules.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
BUILD = ROOT / "build" / "native"

with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # "compiled core not used, stale": why we build
    from aitrader import native


def outputs() -> list[Path]:
    """Extension modules of the core (and mypyc's shared library) present now."""
    found = [p for m in native.MODULES for p in native.extension_paths(m)]
    return found + sorted(native.PACKAGE_DIR.glob(native.GROUP.rsplit(".", 1)[1] + "__mypyc.*"))


def clean() -> None:
    for p in outputs():
        p.unlink()
    native.MANIFEST.unlink(missing_ok=True)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    hashes = native.source_hashes()  # before compiling: a source edited meanwhile reads as stale later
    paths = [str(native.source_path(m)) for m in native.MODULES]
    BUILD.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    # not from the repository root: setuptools would read (and re-validate) the project's pyproject.toml
    os.chdir(BUILD)
    try:
        extensions = mypycify(
            ["--config-file", str(ROOT / "pyproject.toml"), *paths],
            opt_level="3",
            group_name=native.GROUP,
            target_dir=str(BUILD),
        )
        setup(
            name="aitrader-native",
            package_dir={"": str(SRC)},  # build_ext --inplace puts extensions there
            ext_modules=extensions,
            script_args=["-q", "build_ext", "--inplace", "--build-temp", str(BUILD / "temp")],
        )
    finally:
        os.chdir(cwd)
    missing = [m for m in native.MODULES if not native.extension_paths(m)]
    if missing:
        raise RuntimeError(f"no extension module was produced for {', '.join(missing)}")
    native.MANIFEST.write_text(json.dumps(native.manifest_for(hashes), indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even when the build is up to date")
    args = ap.parse_args(argv)
    if native.state(env={}).active and not args.force:
        print("native: compiled core is up to date")
        return 0
    clean()
    shutil.rmtree(BUILD, ignore_errors=True)
    t0 = time.perf_counter()
    try:
        build()
    except (Exception, SystemExit) as e:  # setuptools reports a compiler failure as SystemExit
        clean()
        print(f"native: build failed, the engine runs interpreted: {e}", file=sys.stderr)
        return 0
    print(f"native: compiled {len(native.MODULES)} modules in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
