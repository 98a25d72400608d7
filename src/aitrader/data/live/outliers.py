"""Reject live candle updates whose close jumped implausibly far from the last closed candle.

The rule is `data.validate`'s, applied before a bad print reaches strategies instead of after:
a per-pair threshold from config `data.outlier_jump` (a fraction: 0.15 = 15 %), else `sigmas`
robust standard deviations (`validate.robust_stats`, MAD-based) of the pair's recent closed
log returns; with fewer than `validate.MIN_RETURNS_FOR_SIGMA` returns only explicit thresholds apply.

Why a release valve (`max_consecutive`): a real crash also looks like an outlier. A single bad tick
is rejected; when every update for `max_consecutive` updates in a row says the price is elsewhere,
the market moved and the filter accepts it rather than freezing the pair's data forever.

Why learning is lazy: the cache calls `learn` as each candle closes, i.e. on the latency path of
every pair's close frame (50 pairs close in the same burst), while the yardstick is first needed by
the pair's *next* update. Three medians over 500 returns cost ~65 us; `learn` only keeps the closes
and the statistics are computed when the next update is judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import FloatArray
from aitrader.data.validate import DEFAULT_SIGMAS, MIN_RETURNS_FOR_SIGMA, robust_stats
from aitrader.metrics import DATA_OUTLIERS_REJECTED


class OutlierFilter:
    def __init__(
        self,
        jump: Mapping[str, float] | None = None,
        sigmas: float = DEFAULT_SIGMAS,
        max_consecutive: int = 5,
    ) -> None:
        self.jump = dict(jump or {})
        self.sigmas = sigmas
        self.max_consecutive = max_consecutive
        self._stats: dict[str, tuple[float, float]] = {}  # symbol -> (median, robust sigma) of log returns
        self._unlearned: dict[str, FloatArray] = {}  # symbol -> closes given to `learn`, not yet used
        self._streak: dict[str, int] = {}
        self.rejected: dict[str, int] = {}

    def learn(self, symbol: str, closes: FloatArray) -> None:
        """The pair's recent closed closes (oldest first, a copy the caller will not change): the
        volatility yardstick is recomputed from them when next needed."""
        self._unlearned[symbol] = closes

    def stats(self, symbol: str) -> tuple[float, float] | None:
        """(median, robust sigma) of the pair's recent log returns; None with too little history."""
        closes = self._unlearned.pop(symbol, None)
        if closes is not None:
            c = closes[np.isfinite(closes) & (closes > 0)]
            r = np.diff(np.log(c))
            med, sigma = robust_stats(r) if len(c) >= MIN_RETURNS_FOR_SIGMA + 1 else (0.0, 0.0)
            if sigma > 0:
                self._stats[symbol] = (med, sigma)
            else:
                self._stats.pop(symbol, None)
        return self._stats.get(symbol)

    def is_outlier(self, symbol: str, ref_close: float | None, close: float) -> bool:
        """Judge without counting (for callers that only want to know)."""
        if not (math.isfinite(close) and close > 0):
            return True
        if ref_close is None or not (math.isfinite(ref_close) and ref_close > 0):
            return False
        thr = self.jump.get(symbol)
        if thr is not None:
            return abs(close / ref_close - 1.0) > thr
        stats = self.stats(symbol)
        if stats is None:
            return False
        med, sigma = stats
        return abs(math.log(close / ref_close) - med) > self.sigmas * sigma

    def accept(self, symbol: str, ref_close: float | None, close: float) -> bool:
        """True to use the update; a rejection is counted (per pair, also in prometheus)."""
        if not self.is_outlier(symbol, ref_close, close):
            self._streak[symbol] = 0
            return True
        streak = self._streak.get(symbol, 0) + 1
        if streak > self.max_consecutive and math.isfinite(close) and close > 0:
            self._streak[symbol] = 0  # the price stayed there: a move, not a bad print
            return True
        self._streak[symbol] = streak
        self.rejected[symbol] = self.rejected.get(symbol, 0) + 1
        DATA_OUTLIERS_REJECTED.labels(symbol).inc()
        return False
