"""The three plugs that make a mode: Clock (core.clock), DataFeed and Venue.

Backtest, paper and live differ only in which implementations are plugged in; the engine talks to
these protocols and never asks which mode it is in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from aitrader.core.candles import Candle
from aitrader.core.orders import Fill, OrderRequest, OrderStatus


@dataclass(frozen=True, slots=True)
class CandleClosed:
    """A candle of `symbol`/`timeframe` has closed; usable from `candle.ts + timeframe_ms` on."""

    symbol: str
    timeframe: str
    candle: Candle


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue's word on one of our orders (acknowledged, filled more, cancelled, rejected...)."""

    client_id: str
    status: OrderStatus
    ts: int
    venue_id: str | None = None
    filled: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    reason: str = ""


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
