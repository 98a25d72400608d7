"""The decision confluence hands to the ML gate and risk: one per pair per bar when anything is proposed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aitrader.core.records import reduce_fields


@dataclass(frozen=True, slots=True, init=False)
class Decision:
    """Merged view of all strategies at one closed candle.

    direction: -1 short/exit, 0 nothing, +1 long. confidence in [0, 1]. `stop` and `take` are absolute
    prices computed deterministically from ATR at decision time (None when direction is 0).
    `reasons` are the human-readable "thoughts" the dashboard shows. It writes its own `__init__`
    (one per decision of a backtest): see core.orders for why.
    """

    ts: int
    symbol: str
    direction: int
    confidence: float
    price: float
    stop: float | None = None
    take: float | None = None
    reasons: tuple[str, ...] = ()
    strategy_votes: tuple[tuple[str, int, float], ...] = ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        ts: int,
        symbol: str,
        direction: int,
        confidence: float,
        price: float,
        stop: float | None = None,
        take: float | None = None,
        reasons: tuple[str, ...] = (),
        strategy_votes: tuple[tuple[str, int, float], ...] = (),
    ) -> None:
        object.__setattr__(self, "ts", ts)
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "take", take)
        object.__setattr__(self, "reasons", reasons)
        object.__setattr__(self, "strategy_votes", strategy_votes)
