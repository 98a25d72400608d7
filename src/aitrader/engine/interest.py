"""Interest: which coming candles of a symbol could change anything, derived from the engine's state.

Why: the engine tells its feed after every candle what would make the next candle of that symbol
matter. A historical feed uses this to jump straight to that candle (the speed of the backtest: the
per-candle Python loop only runs where something can happen); a live feed delivers every closed
candle anyway and ignores it. The engine computes the same interest in every mode, so it never needs to
know which mode it runs in.

A candle matters when
- an order must fill or be re-evaluated on it (market orders, partially filled or expiring orders,
  trailing stops whose level moves with every candle): `every`;
- a resting level is touched: low <= `low_at_or_below` (sell stops, buy limits) or high >=
  `high_at_or_above` (sell limits / take-profits, buy stops);
- a decision in `signals` fires at its close (+1 while flat, -1 while long).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from aitrader.core.orders import (
    ENTRY,
    LIMIT,
    MARKET,
    PARTIALLY_FILLED,
    SELL,
    STOP_MARKET,
    TRAILING_STOP,
    Order,
)
from aitrader.core.records import reduce_fields


@dataclass(frozen=True, slots=True, init=False)
class Interest:
    """Its own `__init__` (one per event with a resting level): see core.orders for why."""

    every: bool = False
    low_at_or_below: float = -math.inf
    high_at_or_above: float = math.inf
    signals: frozenset[int] = frozenset()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        every: bool = False,
        low_at_or_below: float = -math.inf,
        high_at_or_above: float = math.inf,
        signals: frozenset[int] = frozenset(),
    ) -> None:
        object.__setattr__(self, "every", every)
        object.__setattr__(self, "low_at_or_below", low_at_or_below)
        object.__setattr__(self, "high_at_or_above", high_at_or_above)
        object.__setattr__(self, "signals", signals)


EVERY: Final = Interest(every=True)


def interest_for(open_orders: list[Order], in_position: bool, entries_possible: bool = True) -> Interest:
    """The interest implied by the open orders of one symbol and whether a position is held.

    `entries_possible=False` (the risk gate refuses every entry, e.g. its kill switch is on) drops the
    entry signals of a flat symbol: no such signal can change anything, so a historical feed need not
    stop there (the decisions it skips would all be refused)."""
    low, high = -math.inf, math.inf
    for o in open_orders:
        req = o.request
        if (
            req.type is MARKET
            or req.purpose is TRAILING_STOP
            or req.trail is not None
            or o.status is PARTIALLY_FILLED
            or (req.purpose is ENTRY and req.type is LIMIT)  # expires by time
        ):
            return EVERY
        level = req.stop_price if req.type is STOP_MARKET else req.price
        if level is None:
            return EVERY  # cannot say when it triggers: look at every candle
        lv = float(level)
        touches_low = (req.side is SELL) == (req.type is STOP_MARKET)
        if touches_low:
            low = max(low, lv)
        else:
            high = min(high, lv)
    has_entry = any(o.request.purpose is ENTRY for o in open_orders)
    flat_wants = _ENTRY if entries_possible and not has_entry else _NONE
    signals = _EXIT if in_position else flat_wants
    if low == -math.inf and high == math.inf:
        return _SIGNALS_ONLY[signals]  # no resting level: one of three, built once (asked on every event)
    return Interest(False, low, high, signals)


_EXIT: Final[frozenset[int]] = frozenset({-1})
_ENTRY: Final[frozenset[int]] = frozenset({1})
_NONE: Final[frozenset[int]] = frozenset()
_SIGNALS_ONLY: Final[dict[frozenset[int], Interest]] = {
    s: Interest(signals=s) for s in (_EXIT, _ENTRY, _NONE)
}
