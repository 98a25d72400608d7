"""Plain input records for rows that have no type in `core` yet (positions, ledger entries).

The engine fills these in; the repository turns them into rows. Money is Decimal, time epoch ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class PositionRecord:
    """A position's current state; (symbol, opened_ms) identifies it within a tenant."""

    symbol: str
    side: str  # "long" | "short"
    amount: Decimal
    avg_entry: Decimal
    opened_ms: int
    updated_ms: int
    status: str = "open"  # "open" | "closed"
    stop: Decimal | None = None
    take: Decimal | None = None
    trailing_level: Decimal | None = None
    trailing_state: dict[str, Any] | None = None
    realized_pnl: Decimal = Decimal(0)
    closed_ms: int | None = None


@dataclass(slots=True)
class LedgerEntry:
    """One money movement; `entry_id` is chosen by the caller so replays write it once."""

    entry_id: str
    ts: int
    account: str
    currency: str
    amount: Decimal
    kind: str
    ref: str = ""
    note: str = ""


@dataclass(slots=True)
class EquityPoint:
    ts: int
    equity: Decimal
    cash: Decimal
    currency: str


@dataclass(slots=True)
class MetricSample:
    name: str
    ts: int
    value: float
    labels: dict[str, str] = field(default_factory=dict)
