"""A refused entry, kept so the operator (dashboard, Telegram, reports) can see why nothing traded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aitrader.core.records import reduce_fields


@dataclass(frozen=True, slots=True, init=False)
class Rejection:
    """`reason` is the sentence an operator reads; `code` the stable key tests and metrics use.

    It writes its own `__init__` (one per refused entry of a backtest): see core.orders for why."""

    ts: int
    symbol: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)
    code: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self, ts: int, symbol: str, reason: str, details: dict[str, str] | None = None, code: str = ""
    ) -> None:
        object.__setattr__(self, "ts", ts)
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "details", {} if details is None else details)
        object.__setattr__(self, "code", code)
