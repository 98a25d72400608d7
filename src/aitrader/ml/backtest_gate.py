"""Backtests with and without the ML gate, side by side.

Backtests gate vectorised: `GatedFrame` wraps a confluence `DecisionFrame`, computes P(win) for every
bar at once with `features.compute` (causal, the same function the live gate uses, whose live row is
tested equal to the vectorised one) and masks the entries below the threshold. The engine then sees
fewer entries and, through `directions()`, skips more candles.

Both runs go through `backtest.runner.run_backtest` (the gated one with the gate as its
`decision_filter`), so the ungated run is exactly what `aitrader backtest` produces and the two
cannot drift apart; a test pins the ungated fingerprint to `run_backtest`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aitrader.backtest.data import load_candles
from aitrader.backtest.report import BacktestReport
from aitrader.backtest.runner import BacktestSpec, Progress, run_backtest
from aitrader.config import Settings
from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.decisions import Decision
from aitrader.core.errors import DataError
from aitrader.core.time import timeframe_to_ms
from aitrader.engine.decisions import DecisionArrays, Int8Array
from aitrader.engine.engine import EngineStats
from aitrader.ml.gate import GatedDecision, MLGate


class GatedFrame:
    """A DecisionArrays whose entries below the threshold are masked; decisions carry the gate's reason."""

    def __init__(
        self,
        inner: DecisionArrays,
        p: FloatArray,
        version: str | None,
        gate: MLGate,
        error: str | None = None,
    ) -> None:
        self._inner = inner
        self._gate = gate
        self.p = p
        self.version = version
        self.error = error
        raw = np.asarray(inner.direction, dtype=np.int8)
        self.entries = raw > 0
        if error is not None:
            keep = np.full(len(raw), gate.on_failure == "gate_bypassed")
        else:
            keep = p >= gate.threshold
        self._direction = np.where(self.entries & ~keep, 0, raw).astype(np.int8)

    @property
    def direction(self) -> Int8Array:
        return self._direction

    def gated(self, i: int) -> GatedDecision:
        p = None if self.error is not None else float(self.p[i])
        return self._gate.verdict(self._inner.decision_at(i), p, self.version, self.error)

    def decision_at(self, i: int) -> Decision:
        return self.gated(i).decision

    def records(self) -> list[GatedDecision]:
        """The gate's verdict on every proposed entry (what the live gate would log)."""
        return [self.gated(int(i)) for i in np.flatnonzero(self.entries)]


def gate_frame(gate: MLGate, candles: OHLCV, frame: DecisionArrays) -> GatedFrame:
    """Wrap one pair's frame; a model failure gives a frame in the gate's failure mode, not an error."""
    try:
        p, version = gate.probabilities(candles)
    except Exception as e:
        return GatedFrame(
            frame, np.full(len(candles), np.nan), gate.version, gate, f"{type(e).__name__}: {e}"
        )
    return GatedFrame(frame, p, version, gate)


@dataclass(frozen=True, slots=True)
class GatedRun:
    report: BacktestReport
    stats: EngineStats
    frames: dict[str, DecisionArrays]


def _quiet(stage: str, frac: float) -> None:
    pass


def run_gated(
    settings: Settings,
    spec: BacktestSpec,
    datadir: Path,
    candles: dict[str, OHLCV],
    gate: MLGate | None,
    progress: Progress | None = None,
) -> GatedRun:
    """The full-stack backtest of `run_backtest` with each pair's decisions gated (as they are when
    `gate` is None); the frames the engine traded on are kept for the gate's verdicts."""
    frames: dict[str, DecisionArrays] = {}

    def keep(pair: str, c: OHLCV, frame: DecisionArrays) -> DecisionArrays:
        frames[pair] = frame if gate is None else gate_frame(gate, c, frame)
        return frames[pair]

    res = run_backtest(settings, spec, datadir, progress or _quiet, candles=candles, decision_filter=keep)
    assert res.stats is not None  # full stack: the engine ran
    return GatedRun(res.report, res.stats, frames)


@dataclass(frozen=True, slots=True)
class GateComparison:
    without: GatedRun
    gated: GatedRun
    version: str | None
    threshold: float
    proposed: int
    passed: int
    errors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "threshold": self.threshold,
            "entries_proposed": self.proposed,
            "entries_passed": self.passed,
            "gate_errors": self.errors,
            "without_gate": self.without.report.summary,
            "with_gate": self.gated.report.summary,
        }


def compare_with_gate(
    settings: Settings,
    spec: BacktestSpec,
    datadir: Path,
    gate: MLGate,
    candles: dict[str, OHLCV] | None = None,
    progress: Progress | None = None,
) -> GateComparison:
    """The same full-stack backtest twice, without and with the gate."""
    if spec.reference:
        raise DataError("the ML gate compares full-stack runs: drop --no-stops or --stake-amount")
    if candles is None:
        candles = load_candles(
            datadir, spec.exchange, spec.pairs, spec.timeframe, spec.start_ms, spec.end_ms, spec.fill_gaps
        )
    if gate.timeframe_ms is None:
        gate.timeframe_ms = timeframe_to_ms(spec.timeframe)
    without = run_gated(settings, spec, datadir, candles, None, progress)
    with_gate = run_gated(settings, spec, datadir, candles, gate, progress)
    gated = {p: f for p, f in with_gate.frames.items() if isinstance(f, GatedFrame)}
    proposed = sum(int(g.entries.sum()) for g in gated.values())
    passed = sum(int((g.entries & (g.direction > 0)).sum()) for g in gated.values())
    errors = [f"{p}: {g.error}" for p, g in gated.items() if g.error is not None]
    return GateComparison(without, with_gate, gate.version, gate.threshold, proposed, passed, errors)
