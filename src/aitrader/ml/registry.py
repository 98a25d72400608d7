"""Versioned model registry: files under `ml.registry`, one row per model in the database.

Layout: `<root>/v0001/{model.joblib,card.json}` and `<root>/CURRENT` naming the promoted version.
Why this shape: a version directory is built under a temporary name and renamed into place, and
CURRENT is replaced atomically, so a training process killed at any instant leaves either no new
version or a complete one, and never a half-written CURRENT: the gate keeps serving what it had.
`card.json` carries the model file's sha256; `load` refuses a file that does not match it.

The database row: storage has no model table, so each card summary is kept in the repository's kv
state (namespace `ml.models`, key = version; `ml`/`current` = the promoted version). The files stay
the source of truth; the rows are for the API and other hosts.

joblib files are pickles: load only registries you wrote yourself.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline
from sqlalchemy import Engine

from aitrader.core.errors import AitraderError
from aitrader.core.time import now_ms
from aitrader.ml.train import TrainSpec

_VERSION_RE = re.compile(r"^v(\d{4,})$")
KV_MODELS = "ml.models"
KV_ML = "ml"


class ModelError(AitraderError):
    """A model is missing, corrupt or cannot be used."""


@dataclass(frozen=True, slots=True)
class LoadedModel:
    version: str
    pipeline: Pipeline
    spec: TrainSpec
    card: dict[str, Any]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ModelRegistry:
    def __init__(self, root: Path, *, db: Engine | None = None, tenant: str = "default") -> None:
        self.root = Path(root)
        self.db = db
        self.tenant = tenant

    # ---- reading

    def versions(self) -> list[str]:
        """Complete versions, oldest first (temporary directories of killed runs are not versions)."""
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def card(self, version: str) -> dict[str, Any]:
        path = self._dir(version) / "card.json"
        try:
            card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model {version} not found in {self.root}") from None
        except (OSError, ValueError) as e:
            raise ModelError(f"model {version}: unreadable card ({e})") from None
        return card

    def current(self) -> str | None:
        try:
            v = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return v or None

    def resolve(self, name: str) -> str:
        """`latest` (newest registered), `current` (promoted) or a version name."""
        if name == "current":
            cur = self.current()
            if cur is None:
                raise ModelError("no model has been promoted yet (aitrader ml promote VERSION)")
            return cur
        if name == "latest":
            vs = self.versions()
            if not vs:
                raise ModelError(f"no models in {self.root} (aitrader ml train first)")
            return vs[-1]
        self._check_name(name)
        return name

    def load(self, name: str) -> LoadedModel:
        version = self.resolve(name)
        card = self.card(version)
        path = self._dir(version) / "model.joblib"
        try:
            digest = _sha256(path)
        except OSError as e:
            raise ModelError(f"model {version}: cannot read {path.name} ({e.strerror})") from None
        if digest != card.get("sha256"):
            raise ModelError(f"model {version}: {path.name} does not match the sha256 in its card")
        try:
            pipeline = joblib.load(path)
            spec = TrainSpec.from_dict(card["spec"])
        except Exception as e:
            raise ModelError(f"model {version}: cannot load ({type(e).__name__}: {e})") from None
        return LoadedModel(version, pipeline, spec, card)

    # ---- writing

    def register(self, pipeline: Pipeline, card: dict[str, Any]) -> str:
        """Write a new version (atomically: temp dir, then rename to the next free vNNNN)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".tmp-"))
        try:
            joblib.dump(pipeline, tmp / "model.joblib")
            card = dict(card, sha256=_sha256(tmp / "model.joblib"))
            vs = self.versions()
            n = int(vs[-1][1:]) + 1 if vs else 1
            while True:
                version = f"v{n:04d}"
                card["version"] = version
                (tmp / "card.json").write_text(json.dumps(card, indent=1, allow_nan=True), encoding="utf-8")
                try:
                    os.rename(tmp, self.root / version)
                    break
                except OSError:
                    if not (self.root / version).exists():
                        raise
                    n += 1  # another process took this number
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._db_row(version, card)
        return version

    def promote(self, version: str) -> None:
        version = self.resolve(version)
        self.card(version)  # exists
        _write_atomic(self.root / "CURRENT", version + "\n")
        if self.db is not None:
            from aitrader.storage.repository import tenant_scope

            with tenant_scope(self.db, self.tenant, write=True, create_tenant=True) as ts:
                ts.save_state(KV_ML, "current", version)

    def _db_row(self, version: str, card: dict[str, Any]) -> None:
        if self.db is None:
            return
        from aitrader.storage.repository import tenant_scope

        val = card.get("metrics", {}).get("validation", {})
        row = {
            "version": version,
            "path": str(self._dir(version)),
            "created_ms": card.get("created_ms", now_ms()),
            "model": card.get("model"),
            "pairs": card.get("pairs"),
            "timeframe": card.get("timeframe"),
            "data": card.get("data"),
            "code_version": card.get("code_version"),
            "auc": _finite(val.get("auc")),
            "brier": _finite(val.get("brier")),
            "sha256": card.get("sha256"),
        }
        with tenant_scope(self.db, self.tenant, write=True, create_tenant=True) as ts:
            ts.save_state(KV_MODELS, version, row)

    def _dir(self, version: str) -> Path:
        self._check_name(version)
        return self.root / version

    @staticmethod
    def _check_name(version: str) -> None:
        if not _VERSION_RE.match(version):
            raise ModelError(f"invalid model version {version!r}: expected e.g. v0003, latest or current")


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and x == x and abs(x) != float("inf") else None
