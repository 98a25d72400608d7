"""The ML entry gate: a long entry passes only when the model's P(win) >= threshold.

Only entries (direction +1) are gated; exits and "nothing" pass untouched, because refusing an exit
on a model's say-so would keep risk on. Every gated decision becomes a `GatedDecision` carrying the
probability and the model version, and the Decision's `reasons` gain one line saying what the gate
did, so the dashboard's "thoughts" show it.

Failure never crashes the caller: if no model can be loaded, or predicting raises, the gate acts as
`on_failure` says: `gate_closed` (refuse every entry: safe) or `gate_bypassed` (let every entry
through: the strategy as if no ML existed). A reload that fails keeps serving the previous model, so
a broken or half-trained new version never replaces a working one.

Loading a model compiles the live feature-row kernel (`features.prepare_live`) and predictions go
through `forest.CompiledForest` (the fitted trees as flat arrays, a few microseconds
per row, equal to `predict_proba`) when the model is a HistGradientBoosting pipeline, compiled once
per loaded model; other models (LightGBM) use their own `predict_proba` on one OpenMP thread.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.decisions import Decision
from aitrader.ml.features import compute, compute_last, prepare_live
from aitrader.ml.forest import compile_forest
from aitrader.ml.registry import LoadedModel, ModelError, ModelRegistry
from aitrader.ml.train import predict_proba

log = logging.getLogger(__name__)
# One-row predictions on OpenMP's default thread team spin-wait on a busy host (~100 ms measured vs
# ~9 ms on one thread), so single decisions predict on one thread; the controller is built once.
_THREADS = ThreadpoolController()
OnFailure = Literal["gate_closed", "gate_bypassed"]
Predictor = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True, slots=True)
class _Served:
    """A loaded model with its row evaluator: swapped in as ONE reference, never half of each."""

    model: LoadedModel
    predict: Predictor
    compiled: bool


def _serve(model: LoadedModel) -> _Served:
    """The compiled evaluator when the model allows one and it compiles, else predict_proba."""
    try:
        prepare_live()  # the live feature row's kernel: compiled here, not on the first decision
    except Exception:  # decisions will then fail, and the gate acts as on_failure says
        log.exception("ml gate: cannot compile the live feature kernel")
    try:
        forest = compile_forest(model.pipeline)
        if forest is not None:
            forest.warm_up()  # JIT / cache load now, not on the first live decision
            return _Served(model, forest.predict, True)
    except Exception:  # a numba or layout problem costs speed, never the gate
        log.exception("ml gate: cannot compile model %s; using its predict_proba", model.version)
    pipeline = model.pipeline

    def predict(X: FloatArray) -> FloatArray:
        with _THREADS.limit(limits=1, user_api="openmp"):
            return predict_proba(pipeline, X)

    return _Served(model, predict, False)


@dataclass(frozen=True, slots=True)
class GatedDecision:
    """What the gate did with one decision (the decision's reasons already include it)."""

    decision: Decision
    passed: bool
    probability: float | None
    model_version: str | None
    reason: str
    proposed: Decision | None = None  # the decision before the gate (an entry: direction +1)

    @property
    def outcome(self) -> str:
        """The decisions log's `outcome` code (at most 32 characters): ML_PASSED / ML_BLOCKED with
        P(win), ML_GATE_CLOSED / ML_BYPASSED when the model failed, "" for a decision not gated."""
        if self.proposed is None or self.proposed.direction <= 0:
            return ""
        if self.probability is None:
            return "ML_BYPASSED" if self.passed else "ML_GATE_CLOSED"
        return f"{'ML_PASSED' if self.passed else 'ML_BLOCKED'} p={self.probability:.3f}"

    def logged(self) -> Decision:
        """What the decisions log shows: the proposed entry (so a blocked one still reads LONG) with
        the gate's line among its reasons; the gated decision itself when nothing was proposed."""
        if self.proposed is None or self.proposed.direction <= 0:
            return self.decision
        return replace(self.proposed, reasons=self.decision.reasons)


class MLGate:
    def __init__(
        self,
        registry: ModelRegistry | None,
        *,
        threshold: float,
        on_failure: OnFailure = "gate_closed",
        timeframe_ms: int | None = None,
    ) -> None:
        self.registry = registry
        self.threshold = threshold
        self.on_failure = on_failure
        self.timeframe_ms = timeframe_ms
        self._served: _Served | None = None
        self.last_error: str | None = None

    @classmethod
    def with_model(
        cls,
        model: LoadedModel,
        *,
        threshold: float,
        on_failure: OnFailure = "gate_closed",
        timeframe_ms: int | None = None,
    ) -> MLGate:
        gate = cls(None, threshold=threshold, on_failure=on_failure, timeframe_ms=timeframe_ms)
        gate._served = _serve(model)
        return gate

    @property
    def version(self) -> str | None:
        """The version being served (None: no model, the gate is in its failure mode)."""
        s = self._served
        return None if s is None else s.model.version

    @property
    def model(self) -> LoadedModel | None:
        """The model being served (None: the gate is in its failure mode)."""
        s = self._served
        return None if s is None else s.model

    @property
    def compiled(self) -> bool:
        """True when predictions use the compiled tree evaluator (not the model's predict_proba)."""
        s = self._served
        return s is not None and s.compiled

    def load(self, name: str = "current") -> bool:
        """Load `name` from the registry and swap it in; on failure keep the model served so far."""
        if self.registry is None:
            self.last_error = "no registry configured"
            return False
        try:
            served = _serve(self.registry.load(name))
        except ModelError as e:
            self.last_error = str(e)
            log.error("ml gate: %s; still serving %s", e, self.version or "no model")
            return False
        self._served = served  # one reference assignment: callers see the old or the new model, never a mix
        self.last_error = None
        return True

    # ---- probabilities

    def probability(self, candles: OHLCV) -> tuple[float, str]:
        """P(win) of a long entry at the newest candle, with the model version (the live path)."""
        s = self._served
        if s is None:
            raise ModelError(self.last_error or "no model loaded")
        row = compute_last(candles, s.model.spec.features, timeframe_ms=self.timeframe_ms)
        p = float(s.predict(row.reshape(1, -1))[0])
        if not math.isfinite(p):
            raise ModelError(f"model {s.model.version} returned {p}")
        return p, s.model.version

    def probabilities(self, candles: OHLCV) -> tuple[FloatArray, str]:
        """P(win) for every candle at once (backtests; equal to `probability` bar by bar)."""
        s = self._served
        if s is None:
            raise ModelError(self.last_error or "no model loaded")
        fm = compute(candles, s.model.spec.features, timeframe_ms=self.timeframe_ms)
        return s.predict(fm.values), s.model.version

    # ---- gating

    def verdict(
        self, decision: Decision, p: float | None, version: str | None, error: str | None
    ) -> GatedDecision:
        """Apply the threshold (or the failure mode when `error`) to one entry decision."""
        if decision.direction <= 0:
            return GatedDecision(decision, True, None, version, "not an entry: not gated", decision)
        if error is not None or p is None:
            passed = self.on_failure == "gate_bypassed"
            why = f"ml gate {'bypassed' if passed else 'closed'}: {error or 'no probability'}"
        else:
            passed = p >= self.threshold
            op = ">=" if passed else "<"
            verb = "passed" if passed else "blocked"
            why = f"ml gate {verb}: P(win) {p:.3f} {op} {self.threshold:.2f} (model {version})"
        d = replace(decision, reasons=(*decision.reasons, why))
        if not passed:
            d = replace(d, direction=0, stop=None, take=None)
        return GatedDecision(d, passed, p, version, why, decision)

    def check(self, decision: Decision, candles: OHLCV) -> GatedDecision:
        """Gate one decision made at the newest of `candles` (never raises for model trouble)."""
        if decision.direction <= 0:
            return self.verdict(decision, None, self.version, None)
        try:
            p, version = self.probability(candles)
        except Exception as e:  # any model failure degrades per on_failure, never a crash
            log.warning("ml gate failure on %s: %s", decision.symbol, e)
            return self.verdict(decision, None, self.version, f"{type(e).__name__}: {e}")
        return self.verdict(decision, p, version, None)


def nan_probabilities(n: int) -> FloatArray:
    return np.full(n, np.nan)
