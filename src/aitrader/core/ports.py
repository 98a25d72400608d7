"""The three plugs that make a mode: Clock (core.clock), DataFeed and Venue.

Backtest, paper and live differ only in which implementations are plugged in; the engine talks to
these protocols and never asks which mode it is in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from aitrader.core.candles import Candle
from aitrader.core.orders import Fill, OrderRequest, OrderStatus
from aitrader.core.records import reduce_fields

_ZERO: Final = Decimal(0)


# Both write their own `__init__` (`init=False`), one per event: see core.orders for why. A frozen
# dataclass assigns through object.__setattr__, which mypyc compiles to a plain store.
@dataclass(frozen=True, slots=True, init=False)
class CandleClosed:
    """A candle of `symbol`/`timeframe` has closed; usable from `candle.ts + timeframe_ms` on."""

    symbol: str
    timeframe: str
    candle: Candle

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(self, symbol: str, timeframe: str, candle: Candle) -> None:
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "timeframe", timeframe)
        object.__setattr__(self, "candle", candle)


@dataclass(frozen=True, slots=True, init=False)
class OrderUpdate:
    """The venue's word on one of our orders (acknowledged, filled more, cancelled, rejected...)."""

    client_id: str
    status: OrderStatus
    ts: int
    venue_id: str | None = None
    filled: Decimal = _ZERO
    avg_price: Decimal | None = None
    reason: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        client_id: str,
        status: OrderStatus,
        ts: int,
        venue_id: str | None = None,
        filled: Decimal = _ZERO,
        avg_price: Decimal | None = None,
        reason: str = "",
    ) -> None:
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "ts", ts)
        object.__setattr__(self, "venue_id", venue_id)
        object.__setattr__(self, "filled", filled)
        object.__setattr__(self, "avg_price", avg_price)
        object.__setattr__(self, "reason", reason)


VenueEvent = OrderUpdate | Fill


class DataFeed(Protocol):
    """Source of closed candles in time order (historical replay or live streams)."""

    def events(self) -> Iterator[CandleClosed]: ...


class Venue(Protocol):
    """Where orders go: the simulated matching engine, or an exchange through ccxt.

    `submit` and `cancel` never block on the network; acknowledgements, fills and rejections come
    back as events from `drain_events`. `on_candle` lets a simulated venue match resting orders
    against market data; an exchange venue ignores it.
    """

    def submit(self, request: OrderRequest) -> None: ...

    def cancel(self, client_id: str) -> None: ...

    def on_candle(self, symbol: str, candle: Candle) -> None: ...

    def drain_events(self) -> list[VenueEvent]: ...

    def balances(self) -> dict[str, Decimal]: ...
