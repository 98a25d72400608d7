"""What the engine needs from its feed and its risk manager, beyond `core.ports`.

Why here and not in core: these are the engine's own requirements. `EngineFeed` extends the core
`DataFeed` with two questions any feed can answer: "deliver what I am interested in" (a live feed
delivers every closed candle anyway and may ignore it) and "what is the last closed price of X"
(marks for equity). `EntryGate` is the part of `risk.manager.RiskManager` the engine calls;
the fixed-stake sizer of reference runs implements it too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol

from aitrader.core.decisions import Decision
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import OrderRequest
from aitrader.core.ports import CandleClosed
from aitrader.engine.interest import Interest
from aitrader.venues.markets import MarketRules


class EngineFeed(Protocol):
    def events(self) -> Iterator[CandleClosed]: ...

    def set_interest(self, symbol: str, interest: Interest) -> None: ...

    def last_close(self, symbol: str) -> tuple[int, float] | None:
        """(open time, close) of the newest closed candle of `symbol`, None before the first."""
        ...


class EntryGate(Protocol):
    """Sizes an entry intent or refuses it (anything that is not an `OrderRequest` is a refusal and
    should carry a `reason`), makes the protective orders of a filled entry, and watches equity.
    Its client-id generator is shared with the OrderManager so every id is unique."""

    ids: ClientIdGenerator

    def size_entry(
        self,
        decision: Decision,
        equity: Decimal,
        open_positions: Mapping[str, Decimal],
        rules: MarketRules,
        now_ms: int,
    ) -> OrderRequest | Any: ...

    def protective_orders(
        self,
        symbol: str,
        amount: Decimal,
        stop: Decimal | None,
        take: Decimal | None,
        rules: MarketRules,
        now_ms: int,
        trail: Decimal | None = None,
    ) -> list[OrderRequest]: ...

    def on_equity(self, ts: int, equity: Decimal) -> None: ...

    def record_trade(self, pnl_fraction: Decimal) -> None: ...

    @property
    def killed(self) -> bool: ...
