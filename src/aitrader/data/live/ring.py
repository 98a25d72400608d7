"""A fixed-capacity ring of closed candles in numpy columns.

Why a ring: a live process runs for weeks; strategies only ever look at a bounded trailing window,
so memory must not grow with uptime and appending must not copy the history (O(1) per candle).
`window(n)` gathers the newest `n` rows in time order into fresh arrays: a copy, because the ring
overwrites its oldest slots and a view would change under the strategy that holds it.
"""

from __future__ import annotations

import numpy as np

from aitrader.core.candles import OHLCV, Candle, FloatArray, IntArray


class CandleRing:
    """The newest `capacity` candles appended, oldest overwritten first. Callers append in time order."""

    __slots__ = ("_c", "_cap", "_h", "_l", "_last", "_n", "_o", "_ts", "_v")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("ring capacity must be >= 1")
        self._cap = capacity
        self._ts = np.zeros(capacity, dtype=np.int64)
        self._o = np.zeros(capacity, dtype=np.float64)
        self._h = np.zeros(capacity, dtype=np.float64)
        self._l = np.zeros(capacity, dtype=np.float64)
        self._c = np.zeros(capacity, dtype=np.float64)
        self._v = np.zeros(capacity, dtype=np.float64)
        self._n = 0  # candles ever appended
        self._last: Candle | None = None  # the newest, kept as given: asked for on every update

    @property
    def capacity(self) -> int:
        return self._cap

    @property
    def appended(self) -> int:
        """Candles appended since creation (including those overwritten since)."""
        return self._n

    def __len__(self) -> int:
        return min(self._n, self._cap)

    def append(self, c: Candle) -> None:
        i = self._n % self._cap
        self._ts[i] = c.ts
        self._o[i] = c.open
        self._h[i] = c.high
        self._l[i] = c.low
        self._c[i] = c.close
        self._v[i] = c.volume
        self._n += 1
        self._last = Candle(
            int(c.ts), float(c.open), float(c.high), float(c.low), float(c.close), float(c.volume)
        )

    def last(self) -> Candle | None:
        return self._last

    def _index(self, n: int | None) -> IntArray:
        k = len(self) if n is None else max(0, min(n, len(self)))
        return np.arange(self._n - k, self._n, dtype=np.int64) % self._cap

    def window(self, n: int | None = None) -> OHLCV:
        """The newest `n` candles (all when None) as contiguous arrays, oldest first."""
        idx = self._index(n)
        return OHLCV(self._ts[idx], self._o[idx], self._h[idx], self._l[idx], self._c[idx], self._v[idx])

    def closes(self, n: int | None = None) -> FloatArray:
        """Close prices of the newest `n` candles, oldest first (a copy)."""
        out: FloatArray = self._c[self._index(n)]
        return out
