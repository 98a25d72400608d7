"""The streaming (live) side of the strategy contract: one closed candle in, that bar's signal out.

Why: live trading sees one new candle per pair per interval. Recomputing a vectorised `compute` over
a trailing window costs O(window) per candle (milliseconds for the built-ins); a streamer keeps the
indicator state and costs O(1) per candle (microseconds). Backtests keep using `compute`.

Contract (`StrategyStream.update`): feed every closed candle of one pair, in order, once. The
returned `StreamSignal` for a candle equals row t of `strategy.compute(all candles so far)`:
direction exactly, strength/stop/take to float rounding (tests prove 1e-9 relative on real data for
every built-in). The event semantics are those of `aitrader.strategies.base` and `Signals.from_events`:
strength in [0, 1] only where a signal fires (0 otherwise), stop/take hints NaN where none fires.

Strategies without a hand-written streamer (user strategies) get `WindowedStream`, which keeps the
last `strategy.history` candles and re-runs `compute` on them for every candle: correct to the same
degree as `Confluence.evaluate_last` (the `history` promise), but O(history) per candle.
Its `compute` gets the strategy's informative (higher-timeframe) candles resampled from the window,
exactly as `run_strategies` resamples them from the full history (`timeframes.informative_for`), so
a strategy whose `warmup` (in base bars) covers its higher-timeframe indicators streams the same
signals as the backtest.
"""

from __future__ import annotations

import contextvars
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from aitrader.core.candles import OHLCV, Candle
from aitrader.indicators.cache import indicator_cache
from aitrader.strategies.pool import strategy_pool
from aitrader.strategies.timeframes import informative_for

if TYPE_CHECKING:
    from aitrader.strategies.base import Signals, Strategy

NAN = math.nan


class StreamSignal(NamedTuple):
    """One bar's event: direction in {-1, 0, +1}, strength in [0, 1], absolute stop/take hints (NaN)."""

    direction: int
    strength: float
    stop: float
    take: float


QUIET = StreamSignal(0, 0.0, NAN, NAN)


def emit(
    long: bool, short: bool, strength: float | None = None, stop: float = NAN, take: float = NAN
) -> StreamSignal:
    """One bar of `Signals.from_events`: both ways = nothing; strength NaN -> 0, clipped to [0, 1]."""
    d = int(long) - int(short)
    if d == 0:
        return QUIET
    if strength is None:
        s = 1.0
    elif strength != strength:
        s = 0.0
    else:
        s = min(max(strength, 0.0), 1.0)
    return StreamSignal(d, s, stop, take)


class Cross:
    """`events.crossed_above` / `crossed_below` one bar at a time (NaN on either bar: no event)."""

    __slots__ = ("_a", "_b")

    def __init__(self) -> None:
        self._a = NAN
        self._b = NAN

    def update(self, a: float, b: float) -> tuple[bool, bool]:
        pa, pb = self._a, self._b
        self._a, self._b = a, b
        return (pa <= pb and a > b), (pa >= pb and a < b)


class Edge:
    """`events.became_true`: state now and not before, inputs defined on both bars."""

    __slots__ = ("_defined", "_state")

    def __init__(self) -> None:
        self._state = False
        self._defined = False

    def update(self, state: bool, defined: bool) -> bool:
        fired = state and not self._state and defined and self._defined
        self._state, self._defined = state, defined
        return fired


def nz(x: float) -> float:
    """`np.nan_to_num` for one value (volume: missing = 0)."""
    return 0.0 if x != x else x


class StrategyStream(ABC):
    """Per-pair live state of one strategy; `update` is called once per closed candle, in order."""

    @abstractmethod
    def update(self, candle: Candle) -> StreamSignal:
        """The signal of this candle's bar (see the module docstring)."""


class WindowedStream(StrategyStream):
    """Fallback for strategies without a streamer: `compute` over the last `history` candles.

    O(history) per candle. Rows live in a buffer of twice the window that is compacted when full,
    so appending is amortised O(1) and the window handed to `compute` is a view (no copy).
    """

    def __init__(
        self, strategy: Strategy, history: int | None = None, budget_s: float | None = None
    ) -> None:
        self.strategy = strategy
        # with a budget, `compute` runs on the strategy pool and a call over it is abandoned: that
        # candle's signal is QUIET and `timed_out` is set (a hung user strategy cannot stall live)
        self.budget_s = budget_s
        self.timed_out = False
        self.history = max(int(history if history is not None else strategy.history), 1)
        cap = 2 * self.history
        self._ts = np.zeros(cap, dtype=np.int64)
        self._cols = np.zeros((5, cap), dtype=np.float64)
        self._n = 0

    def update(self, candle: Candle) -> StreamSignal:
        if self._n == len(self._ts):  # compact: keep the newest history-1 rows
            keep = self.history - 1
            self._ts[:keep] = self._ts[self._n - keep : self._n]
            self._cols[:, :keep] = self._cols[:, self._n - keep : self._n]
            self._n = keep
        i = self._n
        self._ts[i] = candle.ts
        self._cols[:, i] = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        self._n += 1
        lo = max(0, self._n - self.history)
        o, h, low, c, v = self._cols[:, lo : self._n]
        window = OHLCV(self._ts[lo : self._n], o, h, low, c, v)
        informative = None
        if self.strategy.informative_timeframes:
            informative = informative_for(
                self.strategy.informative_timeframes, window, owner=f"strategy {self.strategy.name}"
            )
        self.timed_out = False
        if self.budget_s is None:
            sig = _compute_cached(self.strategy, window, informative)
        else:
            sig_or_none = self._bounded(window, informative)
            if sig_or_none is None:
                self.timed_out = True
                return QUIET
            sig = sig_or_none
        return StreamSignal(
            int(sig.direction[-1]), float(sig.strength[-1]), float(sig.stop[-1]), float(sig.take[-1])
        )

    def _bounded(self, window: OHLCV, informative: Mapping[str, OHLCV] | None) -> Signals | None:
        """`compute` on a copy of the window (the buffer moves on while a straggler may still read)."""
        assert self.budget_s is not None
        w = window
        own = OHLCV(
            w.ts.copy(), w.open.copy(), w.high.copy(), w.low.copy(), w.close.copy(), w.volume.copy()
        )
        run = contextvars.copy_context().run
        future = strategy_pool().submit(run, _compute_cached, self.strategy, own, informative)
        try:
            return future.result(timeout=self.budget_s)
        except FutureTimeout:
            return None


def _compute_cached(strategy: Strategy, window: OHLCV, informative: Mapping[str, OHLCV] | None) -> Signals:
    """`compute` in an indicator-cache scope of its window: indicators it asks for twice (e.g. in two
    helpers) are computed once, and the lookups count in the cache hit/miss metrics."""
    with indicator_cache(window):
        return strategy.compute(window, informative)
