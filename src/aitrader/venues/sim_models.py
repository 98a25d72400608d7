"""Cost models of the simulated venue: fees and slippage, as plain Decimal arithmetic.

Kept apart from the matching rules so a backtest can swap the cost assumptions (and a report can
print them) without touching how orders match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

ZERO: Final = Decimal(0)
BPS: Final = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fractions of notional: maker for resting limit fills, taker for everything that crosses."""

    maker: Decimal
    taker: Decimal

    def __post_init__(self) -> None:
        if not (ZERO <= self.maker < 1 and ZERO <= self.taker < 1):
            raise ValueError(f"fees must be fractions in [0, 1): maker={self.maker} taker={self.taker}")

    def rate(self, is_maker: bool) -> Decimal:
        return self.maker if is_maker else self.taker


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Adverse price move of a taker fill: `bps/10000 + volume_impact * (fill amount / candle volume)`.

    E.g. 2 bps fixed plus, with `volume_impact` 0.1, another 1 % when the fill is 10 % of the
    candle's volume. Without volume data (None) only the fixed part applies.
    """

    bps: Decimal = ZERO
    volume_impact: Decimal = ZERO
    _fixed: Decimal = field(init=False, repr=False, compare=False)  # bps / 10000, divided once

    def __post_init__(self) -> None:
        if self.bps < 0 or self.volume_impact < 0:
            raise ValueError(f"slippage must not be negative: bps={self.bps} impact={self.volume_impact}")
        object.__setattr__(self, "_fixed", self.bps / BPS)

    def fraction(self, amount: Decimal, candle_volume: Decimal | None) -> Decimal:
        frac = self._fixed
        if candle_volume is not None and candle_volume > ZERO and self.volume_impact:
            frac += self.volume_impact * amount / candle_volume
        return frac
