"""The training subprocess: `python -m aitrader.ml.worker REQUEST.json`.

Why a separate process: training takes seconds to minutes of CPU; in the engine's process it would
stall the event loop (and the GIL). The worker reads a JSON request, prints one JSON object per line
on stdout (`{"stage": ..., "frac": ...}` progress, then `{"done": true, ...}`), registers the model
and, by policy, promotes it: `always`, `never`, or `if_better` (its AUC on its latest out-of-sample
fold beats the current model's AUC on that same fold). A current model that cannot be loaded (a
file that fails its sha256 check, a missing or unreadable version) scores NaN, so the candidate is
promoted: otherwise a corrupt CURRENT would block every later promotion and keep the live gate in
its failure mode for good; the result's `current_error` says why. The result is also written
atomically to `result_path` when the request names one. Killed at any point, it leaves the
registry's CURRENT untouched unless the final atomic replace already happened.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from aitrader.backtest.data import load_candles
from aitrader.core.errors import AitraderError
from aitrader.core.time import timeframe_to_ms
from aitrader.ml.card import build_card
from aitrader.ml.registry import ModelError, ModelRegistry, _write_atomic
from aitrader.ml.train import TrainSpec, score_window, train

Promote = Literal["always", "never", "if_better"]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainRequest:
    datadir: str
    exchange: str
    pairs: list[str]
    timeframe: str
    registry: str
    spec: dict[str, Any] = field(default_factory=lambda: TrainSpec().to_dict())
    start_ms: int | None = None
    end_ms: int | None = None
    db_url: str | None = None
    tenant: str = "default"
    promote: Promote = "never"
    min_gain: float = 0.0
    result_path: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TrainRequest:
        return cls(**json.loads(text))


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=True) + "\n")
    sys.stdout.flush()


def run(req: TrainRequest) -> dict[str, Any]:
    spec = TrainSpec.from_dict(req.spec)
    tf_ms = timeframe_to_ms(req.timeframe)
    _emit({"stage": "load", "frac": 0.0})
    candles = load_candles(
        Path(req.datadir), req.exchange, req.pairs, req.timeframe, req.start_ms, req.end_ms
    )
    _emit({"stage": "load", "frac": 1.0})
    result = train(candles, tf_ms, spec, lambda s, f: _emit({"stage": s, "frac": f}))
    db = None
    if req.db_url:
        from aitrader.storage.db import make_engine

        db = make_engine(req.db_url)
    reg = ModelRegistry(Path(req.registry), db=db, tenant=req.tenant)
    version = reg.register(result.model, build_card(result, exchange=req.exchange, timeframe=req.timeframe))
    _emit({"stage": "register", "frac": 1.0})
    cand_auc = float(result.validation["auc"])
    current = reg.current()
    cur_auc = math.nan
    cur_error: str | None = None
    if req.promote == "if_better" and current is not None:
        try:
            cur = reg.load(current)
        except ModelError as e:  # unusable current model: it cannot be better than anything
            cur_error = str(e)
            log.warning("current model unusable (%s): scored NaN, candidate %s may replace it", e, version)
        else:
            fold = result.latest.fold
            cur_auc = score_window(
                cur.pipeline, cur.spec.features, candles, tf_ms, spec.labels, fold.start_ms, fold.end_ms
            )
    promote = req.promote == "always" or (
        req.promote == "if_better"
        and math.isfinite(cand_auc)
        and (current is None or not math.isfinite(cur_auc) or cand_auc > cur_auc + req.min_gain)
    )
    if promote:
        reg.promote(version)
    return {
        "done": True,
        "version": version,
        "promoted": promote,
        "previous": current,
        "candidate_auc": cand_auc,
        "current_auc": cur_auc,
        "current_error": cur_error,
        "validation": result.validation,
        "importances": result.importances,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m aitrader.ml.worker REQUEST.json\n")
        return 2
    req = TrainRequest.from_json(Path(argv[0]).read_text(encoding="utf-8"))
    try:
        out = run(req)
        code = 0
    except AitraderError as e:
        out, code = {"done": False, "error": str(e)}, 2
    except Exception as e:
        out, code = (
            {"done": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()},
            1,
        )
    _emit(out)
    if req.result_path:
        _write_atomic(Path(req.result_path), json.dumps(out, allow_nan=True))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
