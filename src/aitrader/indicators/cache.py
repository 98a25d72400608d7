"""Share indicator results between the strategies (and the regime filter) evaluating one candle set.

Why: confluence runs several strategies over the same candles, and their defaults overlap - the
regime's ADX(14) and ATR(14) are `trend_adx`'s and the stop's, `macd` needs EMA(12) and EMA(26) of
the close like `ema_cross`, `mean_reversion` and `squeeze` both want Bollinger(20, 2). Inside
`indicator_cache(candles)` every public indicator called on that candle set's own columns (the very
`candles.close` array, not a copy or a derived series) with plain scalar parameters is computed
once; a second identical call returns the first result.

Safety rules, so a hit can never be wrong:
- only arrays that *are* registered columns count (identity, checked against the arrays the cache
  holds alive, so a reused `id` cannot alias); any other array argument computes uncached;
- results are made read-only: a strategy writing into an indicator result would otherwise change
  what the next strategy reads; it gets a clear numpy error instead (copy first);
- the cache lives for one `with` block in one context (a `ContextVar`), so concurrent evaluations
  never share entries; threads see it only when given the context (`contextvars.copy_context`).

Hits and misses go to `aitrader_indicator_cache_hits` / `_misses` (the hit rate on /metrics).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.metrics import INDICATOR_CACHE_HITS, INDICATOR_CACHE_MISSES

P = ParamSpec("P")
R = TypeVar("R")
COLUMNS = ("ts", "open", "high", "low", "close", "volume")
_SCALARS = (int, float, str, bool, type(None))


class IndicatorCache:
    """Results keyed by (indicator, registered columns, scalar parameters)."""

    def __init__(self, *candle_sets: OHLCV) -> None:
        self._columns: dict[int, tuple[int, str, np.ndarray[Any, Any]]] = {}
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._sets = 0
        self.hits = 0
        self.misses = 0
        for c in candle_sets:
            self.register(c)

    def register(self, candles: OHLCV) -> None:
        """Make `candles`' columns cacheable inputs (another timeframe's candles, for example)."""
        k = self._sets
        self._sets += 1
        for name in COLUMNS:
            arr = getattr(candles, name)
            self._columns.setdefault(id(arr), (k, name, arr))

    def key(self, indicator: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
        """The memo key of this call, or None when it must not be cached."""
        parts: list[Any] = [indicator]
        for a in (*args, *(v for _, v in sorted(kwargs.items()))):
            if isinstance(a, np.ndarray):
                col = self._columns.get(id(a))
                if col is None or col[2] is not a:
                    return None
                parts.append(col[:2])
            elif isinstance(a, _SCALARS):
                parts.append((type(a) is bool, a))
            else:
                return None
        if kwargs:
            parts.append(tuple(sorted(kwargs)))
        return tuple(parts)

    def lookup(self, key: tuple[Any, ...]) -> Any:
        got = self._memo.get(key)
        if got is not None:
            self.hits += 1
            INDICATOR_CACHE_HITS.inc()
        return got

    def store(self, key: tuple[Any, ...], result: Any) -> Any:
        self.misses += 1
        INDICATOR_CACHE_MISSES.inc()
        for arr in result if isinstance(result, tuple) else (result,):
            if isinstance(arr, np.ndarray):
                arr.flags.writeable = False
        self._memo[key] = result
        return result

    def __len__(self) -> int:
        return len(self._memo)


_ACTIVE: ContextVar[IndicatorCache | None] = ContextVar("aitrader_indicator_cache", default=None)


@contextmanager
def indicator_cache(*candle_sets: OHLCV) -> Iterator[IndicatorCache]:
    """Share indicator results over `candle_sets` inside the block (nested blocks get their own)."""
    cache = IndicatorCache(*candle_sets)
    token = _ACTIVE.set(cache)
    try:
        yield cache
    finally:
        _ACTIVE.reset(token)


def active_cache() -> IndicatorCache | None:
    return _ACTIVE.get()


def cached(fn: Callable[P, R]) -> Callable[P, R]:
    """An indicator that answers from the active cache when there is one (see the module doc)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        cache = _ACTIVE.get()
        if cache is None:
            return fn(*args, **kwargs)
        key = cache.key(name, args, kwargs)
        if key is None:
            return fn(*args, **kwargs)
        got = cache.lookup(key)
        if got is not None:
            return got  # type: ignore[no-any-return]
        return cache.store(key, fn(*args, **kwargs))  # type: ignore[no-any-return]

    return wrapper
