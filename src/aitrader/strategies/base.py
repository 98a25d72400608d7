"""The strategy contract: pure functions of closed candles to per-bar signal events.

Semantics every strategy (and the engine) relies on:

* `direction[t] = +1` is an entry-long signal known at the CLOSE of bar t; `-1` an exit-long (or, where
  shorting is allowed, entry-short) signal known at the close of bar t; `0` nothing. The engine acts at
  the OPEN of bar t+1, never at bar t's own prices.
* Signals are events, not states: a cross fires once, on the bar it happens, not on every bar after.
* `strength[t]` in [0, 1] says how convincing the event is (1 when a strategy has no notion of it).
* `stop[t]` / `take[t]` are optional absolute price hints for a position opened on that event
  (NaN = no hint). Confluence uses a hint only when it is tighter than its ATR levels.
* Nothing at bar t may depend on data after bar t. Higher-timeframe (informative) candles may be used
  only once closed; `align_closed` gives the right index. `check_lookahead` proves it per strategy.

`compute` is vectorised over the whole history: backtests call it once. Live feeds one candle at a
time to `streamer()` (O(1) per candle for the built-ins; a trailing window of `history` bars through
`compute` for strategies that do not provide one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.errors import AitraderError, StrategyError
from aitrader.core.time import timeframe_to_ms
from aitrader.strategies.params import Param, ResolvedParams
from aitrader.strategies.streaming import StrategyStream, WindowedStream

Int8Array = npt.NDArray[np.int8]
Style = Literal["trend", "reversion", "neutral"]


@dataclass(frozen=True, slots=True)
class Signals:
    """Per-bar events aligned with the candles they were computed from."""

    direction: Int8Array
    strength: FloatArray
    stop: FloatArray
    take: FloatArray

    def __post_init__(self) -> None:
        n = len(self.direction)
        if self.direction.dtype != np.int8:
            raise StrategyError(f"Signals.direction must be int8, got {self.direction.dtype}")
        for name in ("strength", "stop", "take"):
            a = getattr(self, name)
            if a.dtype != np.float64 or len(a) != n:
                raise StrategyError(f"Signals.{name} must be float64 of length {n}, got {a.dtype}[{len(a)}]")

    def __len__(self) -> int:
        return len(self.direction)

    @classmethod
    def from_events(
        cls,
        long: npt.NDArray[np.bool_],
        short: npt.NDArray[np.bool_] | None = None,
        strength: npt.ArrayLike | None = None,
        stop: npt.ArrayLike | None = None,
        take: npt.ArrayLike | None = None,
    ) -> Signals:
        """Build from boolean event masks; a bar flagged both ways is treated as no signal.

        `strength`, `stop` and `take` are kept only where a signal fires (0 / NaN elsewhere), so
        downstream code never mistakes a value on a quiet bar for a hint.
        """
        n = len(long)
        d = long.view(np.int8) if long.dtype == np.bool_ else long.astype(np.int8)
        if short is not None:
            d = d - (short.view(np.int8) if short.dtype == np.bool_ else short.astype(np.int8))
        else:
            d = d.copy()  # never alias the caller's mask
        fired = d != 0
        if strength is None:
            s = fired.astype(np.float64)
        else:
            s = np.where(fired, np.asarray(strength, dtype=np.float64), 0.0)
            s[np.isnan(s)] = 0.0
            np.clip(s, 0.0, 1.0, out=s)

        def hint(a: npt.ArrayLike | None) -> FloatArray:
            if a is None:
                return np.full(n, np.nan)
            return np.where(fired, np.asarray(a, dtype=np.float64), np.nan)

        return cls(d.astype(np.int8, copy=False), s, hint(stop), hint(take))

    @classmethod
    def none(cls, n: int) -> Signals:
        return cls(np.zeros(n, np.int8), np.zeros(n), np.full(n, np.nan), np.full(n, np.nan))

    def slice(self, start: int, stop: int | None = None) -> Signals:
        s = slice(start, stop)
        return Signals(self.direction[s], self.strength[s], self.stop[s], self.take[s])


class Strategy(ABC):
    """Base of every strategy. Subclasses declare ClassVars and implement `warmup` and `compute`.

    `style` tells confluence how to weight the strategy per market regime: trend followers gain in
    trending markets, mean-reverters in ranging ones.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    informative_timeframes: ClassVar[tuple[str, ...]] = ()
    style: ClassVar[Style] = "neutral"

    def __init__(self, **overrides: Any) -> None:
        self.p = ResolvedParams(type(self).params, overrides, f"strategy {self.name}")
        self.validate()

    def validate(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Cross-parameter checks (e.g. fast < slow); raise StrategyError with a clear message."""

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Leading bars on which no signal can fire (indicators still undefined)."""

    @property
    def history(self) -> int:
        """Trailing bars live needs so the newest bar's signals match a full-history computation.

        Recursive indicators (EMA, Wilder) forget their seed geometrically; 20 warm-ups is far below
        float noise for the periods we use. Finite-window strategies may return less.
        """
        return 20 * max(self.warmup, 1) + 2

    @abstractmethod
    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        """Signals for every bar of `candles` (see the module docstring for the semantics)."""

    def streamer(self) -> StrategyStream:
        """Fresh per-pair live state: `update(candle)` gives that bar's signal (`strategies.streaming`).

        Built-ins override this with O(1)-per-candle streamers. The default re-runs `compute` over
        the trailing `history` candles on every update (O(history)), so a strategy without a
        streamer still works live, exactly as `Confluence.evaluate_last` would compute it.
        """
        return WindowedStream(self)

    def explain(self, direction: int) -> str:
        """Human-readable reason for a signal in `direction` (dashboard "thoughts")."""
        return "long signal" if direction > 0 else "exit/short signal"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.p!r})"


def check_class(cls: type[Strategy], source: str) -> None:
    """Reject strategy classes that cannot work, naming where they came from."""
    for attr in ("name", "description"):
        if not isinstance(getattr(cls, attr, None), str) or not getattr(cls, attr):
            raise StrategyError(f"{source}: strategy class {cls.__name__} must set a non-empty `{attr}`")
    if not cls.name.isidentifier():
        raise StrategyError(
            f"{source}: strategy name {cls.name!r} must be an identifier (letters, _, digits)"
        )
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names) or not all(isinstance(p, Param) for p in cls.params):
        raise StrategyError(f"{source}: strategy {cls.name}: `params` must be unique Param declarations")
    tfs = cls.informative_timeframes
    if not isinstance(tfs, tuple) or not all(isinstance(tf, str) for tf in tfs):
        raise StrategyError(
            f"{source}: strategy {cls.name}: `informative_timeframes` must be a tuple of strings like ('1h',)"
        )
    for tf in tfs:
        try:
            timeframe_to_ms(tf)
        except AitraderError as exc:
            raise StrategyError(f"{source}: strategy {cls.name}: informative_timeframes: {exc}") from None
    if cls.style not in ("trend", "reversion", "neutral"):
        raise StrategyError(f"{source}: strategy {cls.name}: style must be trend, reversion or neutral")
