"""The live candle cache: what strategies read and where the engine's CandleClosed events come from.

Per (symbol, timeframe) a fixed-capacity numpy ring of *closed* candles (`data.live.ring`); per
symbol one still-forming base candle kept apart, so `window()` never hands a strategy a candle that
can still change (a candle is usable only after its close). Updates of the base timeframe go
through `update()`:

- same open time as the forming candle: upsert it (identical values: a duplicate, ignored);
- a later open time: the forming candle is closed (appended, CandleClosed emitted) and the new
  one starts forming; missing intervals are not invented (minutes without trades stay absent),
  and higher buckets that ended by the new open time close too (the exchange has moved on);
- an open time at or before the last closed candle: out of order or resent, ignored;
- a close too far from the last closed close: rejected by the outlier filter (`data.live.outliers`).

`advance(now)` closes the forming candle once the clock passed its close (+ `close_grace_ms`, the
time an exchange may still send the final update of a candle). Every closed base candle feeds
`Rollup`s that emit closed higher-timeframe candles exactly as `data.resample` would.

Staleness (`data.live.staleness`) is tracked per (symbol, stream) from every update path; the
default threshold is three base candle intervals, or config `data.stale_after_ms`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from aitrader.config import DataConfig
from aitrader.core.candles import OHLCV, Candle
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.data.live.outliers import OutlierFilter
from aitrader.data.live.ring import CandleRing
from aitrader.data.live.rollup import Rollup
from aitrader.data.live.staleness import StaleAlert, StalenessTracker

DEFAULT_HIGHER = ("5m", "15m", "1h", "4h", "1d")
SIGMA_WINDOW = 500  # closed candles the outlier yardstick is learned from


class Outcome(StrEnum):
    APPENDED = "appended"  # a new forming candle (the previous one, if any, closed)
    UPDATED = "updated"  # the forming candle changed
    DUPLICATE = "duplicate"  # same open time and values as the forming candle
    OLD = "old"  # at or before the last closed candle: out of order or resent
    OUTLIER = "outlier"  # rejected by the outlier filter


@dataclass(frozen=True, slots=True)
class Update:
    outcome: Outcome
    closed: list[CandleClosed] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.APPENDED, Outcome.UPDATED)


class CandleCache:
    """Rolling candles of many symbols in `timeframe` plus the `higher` timeframes rolled up from it."""

    def __init__(
        self,
        timeframe: str = "1m",
        higher: Iterable[str] = DEFAULT_HIGHER,
        capacity: int = 5000,
        *,
        config: DataConfig | None = None,
        close_grace_ms: int = 0,
        on_stale: StaleAlert | None = None,
    ) -> None:
        cfg = config or DataConfig(timeframe=timeframe)
        self.timeframe = timeframe
        self.tf_ms = timeframe_to_ms(timeframe)
        self.higher = tuple(h for h in higher if timeframe_to_ms(h) != self.tf_ms)
        for h in self.higher:
            Rollup(timeframe, h)  # fail early on a timeframe that does not tile
        self.capacity = capacity
        self.close_grace_ms = close_grace_ms
        self.staleness = StalenessTracker(cfg.stale_after_ms or 3 * self.tf_ms, on_alert=on_stale)
        self.outliers = OutlierFilter(cfg.outlier_jump, cfg.outlier_sigmas)
        self._rings: dict[tuple[str, str], CandleRing] = {}
        self._forming: dict[str, Candle] = {}
        self._rollups: dict[str, list[Rollup]] = {}
        self.counts: dict[Outcome, int] = {o: 0 for o in Outcome}

    # --- reading --------------------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self._rings} | set(self._forming))

    def window(
        self, symbol: str, timeframe: str | None = None, n: int | None = None, include_forming: bool = False
    ) -> OHLCV:
        """The newest `n` closed candles (all held when None), oldest first; a copy.

        `include_forming` appends the still-forming base candle (never for strategy decisions).
        """
        tf = timeframe or self.timeframe
        ring = self._rings.get((symbol, tf))
        forming = self._forming.get(symbol) if include_forming and tf == self.timeframe else None
        if ring is None:
            return OHLCV.empty() if forming is None else _one(forming)
        if forming is None:
            return ring.window(n)
        closed = ring.window(None if n is None else max(0, n - 1))
        return _concat(closed, forming)

    def last_closed(self, symbol: str, timeframe: str | None = None) -> Candle | None:
        ring = self._rings.get((symbol, timeframe or self.timeframe))
        return None if ring is None else ring.last()

    def forming(self, symbol: str) -> Candle | None:
        return self._forming.get(symbol)

    def __len__(self) -> int:
        return sum(len(r) for r in self._rings.values())

    # --- staleness ------------------------------------------------------------------------------
    def expect(self, symbol: str, stream: str, now: int) -> None:
        self.staleness.expect(symbol, stream, now)

    def touch(self, symbol: str, stream: str, now: int) -> None:
        self.staleness.touch(symbol, stream, now)

    def is_stale(self, symbol: str, stream: str, now: int) -> bool:
        return self.staleness.is_stale(symbol, stream, now)

    def entries_allowed(self, symbol: str, now: int) -> bool:
        return self.staleness.entries_allowed(symbol, now)

    # --- writing --------------------------------------------------------------------------------
    def update(self, symbol: str, candle: Candle, now: int) -> Update:
        """Apply one base-timeframe candle (forming or final) received at `now`."""
        ring = self._ring(symbol, self.timeframe)
        last = ring.last()
        if last is not None and candle.ts <= last.ts:
            return self._count(Update(Outcome.OLD))
        forming = self._forming.get(symbol)
        if forming is not None and candle.ts < forming.ts:
            return self._count(Update(Outcome.OLD))
        if forming is not None and candle == forming:
            return self._count(Update(Outcome.DUPLICATE))
        if not self.outliers.accept(symbol, None if last is None else last.close, candle.close):
            return self._count(Update(Outcome.OUTLIER))
        self.staleness.touch(symbol, "ohlcv", now)
        if forming is not None and candle.ts == forming.ts:
            self._forming[symbol] = candle
            return self._count(Update(Outcome.UPDATED))
        closed = self._close(symbol) if forming is not None else []
        # a candle opening at ts proves every higher bucket ending by ts is over (no more trades in it)
        closed.extend(self._roll_clock(symbol, candle.ts))
        self._forming[symbol] = candle
        return self._count(Update(Outcome.APPENDED, closed))

    def load(self, symbol: str, ohlcv: OHLCV, now: int) -> list[CandleClosed]:
        """Bulk history (REST warm-up or backfill) through the same rules; returns what closed."""
        out: list[CandleClosed] = []
        for i in range(len(ohlcv)):
            out.extend(self.update(symbol, ohlcv.candle(i), now).closed)
        out.extend(self._advance_symbol(symbol, now))
        return out

    def advance(self, now: int) -> list[CandleClosed]:
        """Close whatever the clock says has closed (forming base candles, higher buckets)."""
        out: list[CandleClosed] = []
        for symbol in self.symbols:
            out.extend(self._advance_symbol(symbol, now))
        return out

    def _advance_symbol(self, symbol: str, now: int) -> list[CandleClosed]:
        t = now - self.close_grace_ms
        forming = self._forming.get(symbol)
        out = self._close(symbol) if forming is not None and forming.ts + self.tf_ms <= t else []
        out.extend(self._roll_clock(symbol, t))
        return out

    def _roll_clock(self, symbol: str, t: int) -> list[CandleClosed]:
        out: list[CandleClosed] = []
        for r in self._rollups.get(symbol, ()):
            for c in r.advance(t):
                self._ring(symbol, r.dst_tf).append(c)
                out.append(CandleClosed(symbol, r.dst_tf, c))
        return out

    def _close(self, symbol: str) -> list[CandleClosed]:
        c = self._forming.pop(symbol)
        ring = self._ring(symbol, self.timeframe)
        ring.append(c)
        self.outliers.learn(symbol, ring.closes(SIGMA_WINDOW))
        out = [CandleClosed(symbol, self.timeframe, c)]
        rollups = self._rollups.get(symbol)
        if rollups is None:
            rollups = self._rollups[symbol] = [Rollup(self.timeframe, h) for h in self.higher]
        for r in rollups:
            for hc in r.add(c):
                self._ring(symbol, r.dst_tf).append(hc)
                out.append(CandleClosed(symbol, r.dst_tf, hc))
        return out

    def _ring(self, symbol: str, tf: str) -> CandleRing:
        ring = self._rings.get((symbol, tf))
        if ring is None:
            ring = self._rings[(symbol, tf)] = CandleRing(self.capacity)
        return ring

    def _count(self, u: Update) -> Update:
        self.counts[u.outcome] += 1
        return u


def _one(c: Candle) -> OHLCV:
    return OHLCV.from_arrays([c.ts], [c.open], [c.high], [c.low], [c.close], [c.volume])


def _concat(a: OHLCV, c: Candle) -> OHLCV:
    b = _one(c)
    return OHLCV(
        np.concatenate([a.ts, b.ts]),
        np.concatenate([a.open, b.open]),
        np.concatenate([a.high, b.high]),
        np.concatenate([a.low, b.low]),
        np.concatenate([a.close, b.close]),
        np.concatenate([a.volume, b.volume]),
    )
