"""Historical data feed: replays closed candles of many symbols in time order, skipping dead candles.

Why it skips: in a backtest most candles change nothing (no decision fires, no resting order is
touched). The engine states its `Interest` per symbol after each candle; this feed finds the next
candle that satisfies it (signal positions by binary search, level touches by a compiled scan,
`engine._touch`) and advances the `SimulatedClock` to that candle's close. So the Python loop
runs per *event*, not per candle, while the engine code is exactly what paper/live run per candle.

`last_close` gives the engine mark prices of symbols it has not visited lately, with the same meaning
as a live feed's: the close of the newest candle closed at the clock's "now".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, Candle, IntArray
from aitrader.core.clock import SimulatedClock
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.engine._touch import first_touch
from aitrader.engine.interest import EVERY, Interest

_NEVER: Final = 1 << 61  # a time no clock reaches (epoch ms)


def _columns(c: OHLCV) -> tuple[Any, Any, Any, Any, Any, Any]:
    """Memoryviews of `c`'s columns, as contiguous native int64 / float64 (no copy when they are: a
    memoryview reads only native formats; the values are those `OHLCV.candle` gives)."""
    ts = np.ascontiguousarray(c.ts, dtype=np.int64).data
    o, h, lo, cl, v = (
        np.ascontiguousarray(a, dtype=np.float64).data for a in (c.open, c.high, c.low, c.close, c.volume)
    )
    return ts, o, h, lo, cl, v


class HistoricalFeed:
    """Closed candles of `candles` (symbol -> OHLCV, one timeframe) in (close time, symbol) order.

    `signal_directions` (symbol -> int8 per bar, optional) are the precomputed decision directions the
    feed may jump to; without them every candle is a potential decision and nothing is skipped.
    """

    def __init__(
        self,
        candles: Mapping[str, OHLCV],
        timeframe: str,
        clock: SimulatedClock,
        signal_directions: Mapping[str, npt.NDArray[np.int8]] | None = None,
        initial: Interest = Interest(signals=frozenset({1})),
        skip: bool = True,
    ) -> None:
        self._candles = dict(candles)
        self._symbols = list(self._candles)
        self._rank = {s: i for i, s in enumerate(self._symbols)}
        self._tf_ms = timeframe_to_ms(timeframe)
        self.timeframe = timeframe
        self._clock = clock
        self._initial = initial if skip else EVERY
        self._skip = skip  # False: deliver every candle, like a live feed (tests compare the two)
        self._signal_idx: dict[str, dict[int, IntArray]] = {}
        self._signal_mv: dict[str, dict[int, Any]] = {}  # the same as memoryviews (see `_cols`)
        dirs = signal_directions or {}
        for s in self._symbols:
            d = dirs.get(s)
            if d is None:
                continue
            if len(d) != len(self._candles[s]):
                raise ValueError(f"{s}: {len(d)} signal directions for {len(self._candles[s])} candles")
            self._signal_idx[s] = {v: np.flatnonzero(d == v).astype(np.int64) for v in (-1, 1)}
            self._signal_mv[s] = {v: a.data for v, a in self._signal_idx[s].items()}
        self._cursor: dict[str, int] = {s: -1 for s in self._symbols}  # last delivered index
        # (symbol, signal value) -> (position in its signal indexes of the last answer, the start asked
        # for): a symbol's scan start only moves forward, so the next answer is mostly that one or the
        # one after
        self._sig_pos: dict[tuple[str, int], tuple[int, int]] = {}
        self._heap: list[tuple[int, int, int]] = []  # (close ms, symbol rank, index)
        self._pending: dict[str, int] = {}  # scheduled index per symbol (one at a time)
        self._at: tuple[int, int] = (-1, -1)  # (close ms, symbol rank) of the last delivered candle
        # symbol -> (the answer holds while now is below this: the close of the candle after it, answer)
        self._last_close: dict[str, tuple[int, tuple[int, float] | None]] = {}
        self._last_close_k: dict[str, int] = {}  # symbol -> index of its last answer (-1: none yet)
        # symbol -> memoryviews of its ts, open, high, low, close, volume columns: an item of one is the
        # Python int or float itself, without a numpy scalar or method call in between (a numpy
        # read was ~0.3 us, six per delivered candle); typed Any, so compiled code checks nothing
        self._cols: dict[str, tuple[Any, Any, Any, Any, Any, Any]] = {
            s: _columns(c) for s, c in self._candles.items()
        }
        self.visited = 0

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    @property
    def timeframe_ms(self) -> int:
        return self._tf_ms

    def candles(self, symbol: str) -> OHLCV:
        return self._candles[symbol]

    def events(self) -> Iterator[CandleClosed]:
        """Each symbol starts with the `initial` interest (flat: its first entry signal); after every
        delivered candle the engine says what it needs next."""
        for s in self._symbols:
            first = self._next_index(s, 0, self._initial)
            if first is not None:
                self._schedule(s, first)
        while self._heap:
            close_ms, rank, i = heapq.heappop(self._heap)
            symbol = self._symbols[rank]
            if self._pending.get(symbol) != i:
                continue  # superseded by a newer interest
            del self._pending[symbol]
            self._cursor[symbol] = i
            self._at = (close_ms, rank)
            self._clock.advance_to(close_ms)
            self.visited += 1
            candle = self._candle(symbol, i)
            # the delivered candle is the newest closed of its symbol: what `last_close` would search for
            self._last_close[symbol] = (self._next_close(symbol, i), (candle.ts, candle.close))
            self._last_close_k[symbol] = i
            yield CandleClosed(symbol, self.timeframe, candle)
        # the history ends after its last candle, not at the last one anything happened on
        ends = [int(c.ts[-1]) + self._tf_ms for c in self._candles.values() if len(c)]
        if ends and max(ends) > self._clock.now():
            self._clock.advance_to(max(ends))

    def set_interest(self, symbol: str, interest: Interest) -> None:
        """Schedule the next candle of `symbol` that satisfies `interest`.

        Only candles still ahead in the delivery order (close time, then symbol rank) qualify: those
        closing after now, and those closing exactly now when `symbol` comes after the symbol whose
        event this is. A live feed delivers that last kind after the current event too: when another
        symbol's event reschedules this one, its candle closing now still fills what was pending for it
        (an order placed now does not fill there: the venue only matches orders submitted by a candle's
        open). Candles closed before now were skipped because nothing could happen in them.
        """
        now = self._clock.now()
        at_now, at_rank = self._at
        rank = self._rank[symbol]
        if at_now == now and rank == at_rank:
            start = self._cursor[symbol] + 1  # this event's symbol: its candle closing now was delivered
        else:
            ts = self._candles[symbol].ts
            later_at_now = at_now == now and rank > at_rank
            first_ahead = int(ts.searchsorted(now - self._tf_ms, "left" if later_at_now else "right"))
            start = max(self._cursor[symbol] + 1, first_ahead)
        nxt = self._next_index(symbol, start, interest)
        if nxt is None:
            self._pending.pop(symbol, None)
        else:
            self._schedule(symbol, nxt)

    def last_close(self, symbol: str) -> tuple[int, float] | None:
        """(open time, close) of the newest candle of `symbol` closed at the clock's now, or None."""
        now = self._clock.now()
        cached = self._last_close.get(symbol)
        if cached is not None and now < cached[0]:
            return cached[1]  # no newer candle has closed since (the clock only moves forward)
        cols = self._cols[symbol]
        ts, close = cols[0], cols[4]
        upto = now - self._tf_ms  # the newest candle closed at now opened at or before this
        # the answer is at or after the last one, mostly the next candle: two reads, and a binary
        # search (a few % of a backtest) only beyond that
        k = self._last_close_k.get(symbol, -1)
        n = len(ts)
        if k + 1 < n and ts[k + 1] <= upto:
            if k + 2 < n and ts[k + 2] <= upto:
                k = int(self._candles[symbol].ts.searchsorted(upto, "right")) - 1
            else:
                k += 1
        self._last_close_k[symbol] = k
        got = (ts[k], close[k]) if k >= 0 else None
        self._last_close[symbol] = (self._next_close(symbol, k), got)
        return got

    def _next_close(self, symbol: str, k: int) -> int:
        """When the candle after index `k` of `symbol` closes (its answer to `last_close` changes then)."""
        ts = self._cols[symbol][0]
        return int(ts[k + 1]) + self._tf_ms if k + 1 < len(ts) else _NEVER

    def _candle(self, symbol: str, i: int) -> Candle:
        """`OHLCV.candle(i)`, read through the memoryviews (see `_cols`)."""
        ts, o, h, lo, cl, v = self._cols[symbol]
        return tuple.__new__(Candle, (ts[i], o[i], h[i], lo[i], cl[i], v[i]))

    def last_index(self, symbol: str) -> int:
        """Index of the last delivered candle of `symbol` (-1 before the first)."""
        return self._cursor[symbol]

    def _schedule(self, symbol: str, i: int) -> None:
        self._pending[symbol] = i
        heapq.heappush(self._heap, (int(self._cols[symbol][0][i]) + self._tf_ms, self._rank[symbol], i))

    def _next_index(self, symbol: str, start: int, interest: Interest) -> int | None:
        c = self._candles[symbol]
        n = len(c)
        if start >= n:
            return None
        sig_idx = self._signal_idx.get(symbol)
        if not self._skip or interest.every or (sig_idx is None and interest.signals):
            return start
        limit = n  # the first signal of interest bounds the level scan
        if sig_idx is not None:
            views = self._signal_mv[symbol]
            for v in interest.signals:
                arr, mv = sig_idx[v], views[v]
                k = self._first_signal_at(symbol, v, arr, mv, start)
                if k < len(arr):
                    limit = min(limit, int(mv[k]))
        has_levels = interest.low_at_or_below > -math.inf or interest.high_at_or_above < math.inf
        if has_levels and start < limit:
            lo, hi = interest.low_at_or_below, interest.high_at_or_above
            hit = first_touch(c.low, c.high, start, limit, lo, hi)
            if hit >= 0:
                return hit
        return limit if limit < n else None

    def _first_signal_at(self, symbol: str, v: int, arr: IntArray, mv: Any, start: int) -> int:
        """`arr.searchsorted(start, "left")` for the signal indexes `arr` of (`symbol`, `v`), tried first
        at the last answer and the one after it (`start` never decreases per symbol, so everything
        before the last answer is below it; a binary search per event was a few % of a backtest).
        `mv`: `arr` as a memoryview, for the reads."""
        key = (symbol, v)
        k, last_start = self._sig_pos.get(key, (0, 0))
        n = len(arr)
        if start < last_start:
            k = int(arr.searchsorted(start, "left"))  # not expected; the hint would not hold
        elif k < n and mv[k] < start:
            k += 1  # the last answer is passed (typically: its candle was just delivered)
            if k < n and mv[k] < start:
                k = int(arr.searchsorted(start, "left"))
        self._sig_pos[key] = (k, start)
        return k

