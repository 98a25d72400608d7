"""The decision confluence hands to the ML gate and risk: one per pair per bar when anything is proposed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Decision:
    """Merged view of all strategies at one closed candle.

    direction: -1 short/exit, 0 nothing, +1 long. confidence in [0, 1]. `stop` and `take` are absolute
    prices computed deterministically from ATR at decision time (None when direction is 0).
    `reasons` are the human-readable "thoughts" the dashboard shows.
    """

    ts: int
    symbol: str
    direction: int
    confidence: float
    price: float
    stop: float | None = None
    take: float | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    strategy_votes: tuple[tuple[str, int, float], ...] = field(default_factory=tuple)
