"""The lookahead guard: a strategy's past signals must not change when the future is cut off.

Vectorised backtests are only honest if signal[t] depends on candles up to t. We recompute the
signals on truncated prefixes `candles[:k]` and compare them with the full run on bars < k; any
difference means the full run used data from bar >= k. Cut points are sampled two ways: right
after bars where the full run fired (a leak usually shows there: the event vanishes without its
future) and evenly across the history (catches events that only exist at a prefix's edge).
Higher-timeframe candles are truncated to those closed by the prefix's last close, so using a
still-forming higher candle is caught too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.timeframes import infer_timeframe_ms, informative_for, tf_ms

_FIELDS = ("direction", "strength", "stop", "take")


@dataclass(frozen=True, slots=True)
class Violation:
    """At cut `cut` (prefix of `cut` bars) bar `bar`'s `field` differed from the full run."""

    cut: int
    bar: int
    field: str
    full: float
    prefix: float


@dataclass(frozen=True, slots=True)
class LookaheadReport:
    name: str
    bars: int
    cut_points: tuple[int, ...]
    signals: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        head = f"{self.name}: {len(self.cut_points)} cut points over {self.bars} bars, {self.signals} signals"
        if self.ok:
            return f"{head}: no lookahead"
        v = self.violations[0]
        return (
            f"{head}: LOOKAHEAD, {len(self.violations)} changed value(s); first at bar {v.bar} "
            f"({v.field} {v.full:g} with the full history, {v.prefix:g} when cut at {v.cut})"
        )


def cut_points(n: int, start: int, fired: np.ndarray, samples: int) -> tuple[int, ...]:
    """Sorted unique prefix lengths in (start, n): half after fired bars, half evenly spread."""
    if n - 1 <= start:
        return ()
    after = np.flatnonzero(fired) + 1
    after = after[(after > start) & (after < n)]
    half = max(samples // 2, 1)
    picked = after[np.linspace(0, len(after) - 1, min(half, len(after))).astype(int)] if len(after) else after
    even = np.linspace(start + 1, n - 1, max(samples - len(picked), 1)).astype(int)
    return tuple(int(k) for k in np.unique(np.concatenate([picked, even])))


def truncate_informative(informative: Mapping[str, OHLCV], base_close_ms: int) -> dict[str, OHLCV]:
    """Each higher series cut to the candles closed by `base_close_ms`."""
    out = {}
    for tf, higher in informative.items():
        k = int(np.searchsorted(higher.ts + tf_ms(tf), base_close_ms, side="right"))
        out[tf] = higher.slice(0, k)
    return out


def compare(full: Signals, prefix: Signals, cut: int, rtol: float = 1e-9) -> list[Violation]:
    """Differences between `prefix` and the first `len(prefix)` bars of `full` (NaN equals NaN)."""
    found: list[Violation] = []
    for field in _FIELDS:
        a = getattr(full, field)[:cut].astype(np.float64)
        b = getattr(prefix, field).astype(np.float64)
        same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
        found.extend(
            Violation(cut, int(i), field, float(a[i]), float(b[i])) for i in np.flatnonzero(~same)[:5]
        )
    return found


def check_series(
    name: str,
    compute: Callable[[int], Signals],
    n: int,
    warmup: int,
    samples: int,
) -> LookaheadReport:
    """Generic guard: `compute(k)` returns signals of the first k bars (k == n: the full history)."""
    full = compute(n)
    cuts = cut_points(n, warmup, full.direction != 0, samples)
    violations: list[Violation] = []
    for k in cuts:
        violations.extend(compare(full, compute(k), k))
    return LookaheadReport(name, n, cuts, int(np.count_nonzero(full.direction)), tuple(violations))


def check_lookahead(
    strategy: Strategy,
    candles: OHLCV,
    samples: int = 40,
    informative: Mapping[str, OHLCV] | None = None,
) -> LookaheadReport:
    """Recompute `strategy` on sampled prefixes of `candles`; the report fails if any past signal changed.

    Informative timeframes the strategy declares and `informative` lacks are resampled from each
    prefix, exactly as `run_strategies` and live do (`timeframes.informative_for`); a given
    `informative` is cut to the candles closed by the prefix's last close.
    """
    base_ms = infer_timeframe_ms(candles.ts)
    given = dict(informative or {})
    declared = strategy.informative_timeframes
    owner = f"strategy {strategy.name}"

    def compute(k: int) -> Signals:
        prefix = candles.slice(0, k)
        cut = truncate_informative(given, int(candles.ts[k - 1]) + base_ms) if given else None
        if not declared:
            return strategy.compute(prefix, cut)
        return strategy.compute(prefix, informative_for(declared, prefix, cut, base_ms, owner))

    return check_series(strategy.name, compute, len(candles), strategy.warmup, samples)
