"""Ledger entries: one signed movement of one currency, with the reason and the order it came from.

Entries are the audit trail: summing every entry of a currency gives its balance exactly, so any
balance can be explained line by line (and persisted as is by storage).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from aitrader.core.records import reduce_fields


class EntryKind(StrEnum):
    TRADE = "trade"
    FEE = "fee"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FUNDING = "funding"


@dataclass(frozen=True, slots=True, init=False)
class LedgerEntry:
    """`delta` is signed: credits positive, debits negative, in `currency` units.

    It writes its own `__init__` (a few per fill): see core.orders for why."""

    ts: int
    currency: str
    delta: Decimal
    kind: EntryKind
    symbol: str = ""
    client_id: str = ""
    fill_id: str = ""
    note: str = ""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        ts: int,
        currency: str,
        delta: Decimal,
        kind: EntryKind,
        symbol: str = "",
        client_id: str = "",
        fill_id: str = "",
        note: str = "",
    ) -> None:
        object.__setattr__(self, "ts", ts)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "delta", delta)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "fill_id", fill_id)
        object.__setattr__(self, "note", note)
