"""Columnar OHLCV: the shape candles travel in between the store, strategies and the engine.

Numpy arrays (int64 open times in epoch ms, float64 prices and volume) because indicators and
strategies are vectorised; per-candle Python objects stay out of the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Candle(NamedTuple):
    """One candle; `ts` is its open time in epoch ms UTC."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class OHLCV:
    """Candles of one pair and timeframe as aligned numpy columns, sorted by `ts`, unique."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close", "volume"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"OHLCV column {name} has {len(getattr(self, name))} rows, ts has {n}")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> OHLCV:
        f = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy())

    @classmethod
    def from_arrays(
        cls,
        ts: npt.ArrayLike,
        open_: npt.ArrayLike,
        high: npt.ArrayLike,
        low: npt.ArrayLike,
        close: npt.ArrayLike,
        volume: npt.ArrayLike,
    ) -> OHLCV:
        def f(a: npt.ArrayLike) -> FloatArray:
            return np.ascontiguousarray(a, dtype=np.float64)

        return cls(np.ascontiguousarray(ts, dtype=np.int64), f(open_), f(high), f(low), f(close), f(volume))

    def slice(self, start: int, stop: int | None = None) -> OHLCV:
        """Rows [start, stop) as views (no copy)."""
        s = slice(start, stop)
        return OHLCV(self.ts[s], self.open[s], self.high[s], self.low[s], self.close[s], self.volume[s])

    def between(self, start_ms: int | None, end_ms: int | None) -> OHLCV:
        """Candles with start_ms <= ts < end_ms."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, "left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, "left"))
        return self.slice(lo, hi)

    def candle(self, i: int) -> Candle:
        return Candle(
            int(self.ts[i]),
            float(self.open[i]),
            float(self.high[i]),
            float(self.low[i]),
            float(self.close[i]),
            float(self.volume[i]),
        )
