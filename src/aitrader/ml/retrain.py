"""Scheduled retraining in a subprocess, polled without blocking.

`maybe_start(now_ms)` launches `python -m aitrader.ml.worker` when the interval has passed and no run
is in flight; `poll()` returns None while it runs and a `RetrainOutcome` once it has ended, however
it ended (success, error, or killed by a signal). Whatever happens to the child, the caller keeps
its gate: the gate reloads only the registry's CURRENT, which the worker replaces atomically and
only for a model that beat the current one (`promote="if_better"`).

The worker's progress lines (`{"stage": ..., "frac": ...}`, one JSON object per line) go to
`<workdir>/progress.jsonl`, replaced at each start: `progress()` is the latest one, so an operator
(or a test) can see how far a run has got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from aitrader.ml.worker import TrainRequest


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    returncode: int
    result: dict[str, Any] | None  # the worker's final JSON; None when it died before writing it

    @property
    def promoted(self) -> bool:
        return bool(self.result and self.result.get("promoted"))

    @property
    def error(self) -> str | None:
        if self.returncode == 0:
            return None
        if self.result and self.result.get("error"):
            return str(self.result["error"])
        return f"training process ended with code {self.returncode}"


def spawn_worker(
    request: TrainRequest, workdir: Path, stdout: int | IO[Any] | None
) -> subprocess.Popen[bytes]:
    """Start the worker on `request` (written under `workdir`); its stdout goes to `stdout`."""
    workdir.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=workdir, prefix="request-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(request.to_json())
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "aitrader.ml.worker", path],
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env=env,
    )


class Retrainer:
    def __init__(self, request: TrainRequest, workdir: Path, *, interval_ms: int) -> None:
        self.request = replace(request, result_path=str(workdir / "result.json"), promote="if_better")
        self.workdir = workdir
        self.progress_path = workdir / "progress.jsonl"
        self.interval_ms = interval_ms
        self.last_start_ms: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.last: RetrainOutcome | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None

    def maybe_start(self, now_ms: int) -> bool:
        """Start a run when due (first call, or `interval_ms` since the last start) and none is running."""
        if self.proc is not None:
            return False
        if self.last_start_ms is not None and now_ms - self.last_start_ms < self.interval_ms:
            return False
        self.start(now_ms)
        return True

    def start(self, now_ms: int) -> None:
        result = Path(self.request.result_path or "")
        result.unlink(missing_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.progress_path.open("wb") as out:  # the child keeps its own descriptor
            self.proc = spawn_worker(self.request, self.workdir, out)
        self.last_start_ms = now_ms

    def progress(self) -> dict[str, Any] | None:
        """The newest complete line the current (or last) run printed; None before the first."""
        try:
            lines = self.progress_path.read_bytes().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            try:
                msg = json.loads(line)
            except ValueError:  # a line being written
                continue
            if isinstance(msg, dict):
                return msg
        return None

    def poll(self) -> RetrainOutcome | None:
        """The outcome once the run has ended (exactly once per run); None while running or idle."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            return None
        self.proc = None
        result: dict[str, Any] | None = None
        try:
            result = json.loads(Path(self.request.result_path or "").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = None
        self.last = RetrainOutcome(rc, result)
        return self.last

    def stop(self) -> None:
        """Kill a run in flight (engine shutdown)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
