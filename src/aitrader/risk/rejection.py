"""A refused entry, kept so the operator (dashboard, Telegram, reports) can see why nothing traded."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Rejection:
    """`reason` is the sentence an operator reads; `code` the stable key tests and metrics use."""

    ts: int
    symbol: str
    reason: str
    details: dict[str, str] = field(default_factory=dict)
    code: str = ""
