"""The gate in paper/live: a DecisionSource wrapper the engine is built with instead of the bare source.

Why a wrapper and not an engine change: the engine already asks a `DecisionSource` for "the decision
at this closed candle"; wrapping it puts the gate between confluence and risk (the house plan's
order) without the engine knowing the gate exists. The wrapper keeps its own bounded candle window
per symbol (every closed candle passes through `decision`, also the ones without a decision) so the
gate computes the newest feature row with `features.compute_last`, the function training used. The
window is a numpy ring (`CandleWindow`) whose newest `window` rows are handed out as views: turning
a deque of 1000 Candle tuples into arrays cost ~0.25 ms per decision, an eighth of the budget.

It also drives scheduled retraining: on each candle it polls the `Retrainer` (non-blocking) and, when
due, starts a training subprocess; the engine's loop never waits for training.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

import numpy as np

from aitrader.core.candles import OHLCV, Candle
from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.engine.decisions import DecisionSource
from aitrader.ml.gate import GatedDecision, MLGate
from aitrader.ml.retrain import Retrainer

log = logging.getLogger(__name__)


class GatedDecisions:
    """DecisionSource: the inner source's decisions, entries gated by `gate`; `records` keeps the last
    verdicts (and `on_gated`, if given, receives each one, e.g. to persist it as a thought)."""

    def __init__(
        self,
        inner: DecisionSource,
        gate: MLGate,
        *,
        window: int,
        retrainer: Retrainer | None = None,
        on_gated: Callable[[GatedDecision], None] | None = None,
        keep: int = 1000,
    ) -> None:
        self.inner = inner
        self.gate = gate
        self.window = window
        self.retrainer = retrainer
        self.on_gated = on_gated
        self.records: deque[GatedDecision] = deque(maxlen=keep)
        self._candles: dict[str, CandleWindow] = {}

    def warm_up(self, symbol: str, candles: OHLCV) -> None:
        """Seed a symbol's window from history (the live feed's REST warm-up)."""
        buf = self._buffer(symbol)
        for i in range(max(0, len(candles) - self.window), len(candles)):
            buf.append(candles.candle(i))

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        buf = self._buffer(symbol)
        buf.append(event.candle)
        if self.retrainer is not None:
            self._retrain_step(event.candle.ts)
        d = self.inner.decision(symbol, event)
        if d is None or d.direction <= 0:
            return d
        g = self.gate.check(d, buf.view())
        self.records.append(g)
        if self.on_gated is not None:
            try:
                self.on_gated(g)
            except Exception:  # a logging sink must never stop trading
                log.exception("on_gated callback failed")
        return g.decision if g.passed else None

    def _retrain_step(self, now_ms: int) -> None:
        assert self.retrainer is not None
        try:
            outcome = self.retrainer.poll()
            if outcome is not None and outcome.promoted:
                self.gate.load("current")  # a failed load keeps the model served so far
            self.retrainer.maybe_start(now_ms)
        except Exception:
            log.exception("ml retraining step failed; the gate keeps serving %s", self.gate.version)

    def _buffer(self, symbol: str) -> CandleWindow:
        buf = self._candles.get(symbol)
        if buf is None:
            buf = self._candles[symbol] = CandleWindow(self.window)
        return buf


class CandleWindow:
    """The newest `size` candles of one symbol in preallocated arrays of 2 x size rows.

    Appending writes one row; when the arrays are full the newest size - 1 rows move to the front
    (once every size + 1 appends, so O(1) amortised). `view()` is the newest rows as array views:
    valid until the next append, which is all the gate needs (it keeps no reference).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("window size must be >= 1")
        self.size = size
        self._ts = np.zeros(2 * size, dtype=np.int64)
        self._f = np.zeros((5, 2 * size), dtype=np.float64)  # open, high, low, close, volume
        self._end = 0

    def __len__(self) -> int:
        return min(self._end, self.size)

    @property
    def last_ts(self) -> int | None:
        return int(self._ts[self._end - 1]) if self._end else None

    def append(self, c: Candle) -> None:
        """Add a candle newer than the newest one held; repeats and older candles are ignored."""
        last = self.last_ts
        if last is not None and c.ts <= last:
            return
        if self._end == len(self._ts):
            keep = self.size - 1
            self._ts[:keep] = self._ts[self._end - keep : self._end]
            self._f[:, :keep] = self._f[:, self._end - keep : self._end]
            self._end = keep
        i = self._end
        self._ts[i] = c.ts
        self._f[:, i] = (c.open, c.high, c.low, c.close, c.volume)
        self._end = i + 1

    def view(self) -> OHLCV:
        lo = max(0, self._end - self.size)
        f = self._f[:, lo : self._end]
        return OHLCV(self._ts[lo : self._end], f[0], f[1], f[2], f[3], f[4])
