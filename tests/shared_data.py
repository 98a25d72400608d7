"""Where the project's shared real data lives: `shared/` beside the checkout (as laid out for CI and
developers), else `/work/shared`. Test modules import SHARED from here instead of hard-coding a path."""

from pathlib import Path

_CANDIDATES = (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared"))
SHARED: Path = next((p for p in _CANDIDATES if (p / "data").is_dir()), _CANDIDATES[-1])
