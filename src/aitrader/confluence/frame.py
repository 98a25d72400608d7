"""DecisionFrame: confluence's verdict for every bar as arrays, plus the words behind any one bar.

Backtests consume the arrays; the dashboard and the live loop ask `decision_at(i)` for a
`Decision` whose `reasons` spell out why ("ema_cross: fast EMA(12) crossed above slow EMA(26)
(weight 1.25)", "regime trending (ADX 31)", "1h trend confirms", ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aitrader.confluence import reasons as R
from aitrader.confluence.microstructure import Microstructure
from aitrader.confluence.regime import Regime
from aitrader.core.candles import FloatArray, IntArray
from aitrader.core.decisions import Decision
from aitrader.strategies.base import Int8Array, Strategy


@dataclass(frozen=True, slots=True)
class Vote:
    """One strategy's events over all bars and the regime-adjusted weight it had on each."""

    strategy: Strategy
    direction: Int8Array
    strength: FloatArray
    weight: FloatArray
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class DecisionFrame:
    symbol: str
    ts: IntArray
    close: FloatArray
    direction: Int8Array
    confidence: FloatArray
    stop: FloatArray
    take: FloatArray
    atr: FloatArray
    votes: tuple[Vote, ...]
    regime: Regime
    min_confidence: float
    higher_tf: str | None = None
    higher_trend: Int8Array | None = None
    mtf_factor: FloatArray | None = None
    micro: Microstructure | None = None
    micro_factor: FloatArray | None = None
    stop_from: Int8Array | None = None  # -1: ATR level, k: hint of votes[k]
    take_from: Int8Array | None = None

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, i: int) -> Decision:
        return self.decision_at(i)

    def decision_at(self, i: int) -> Decision:
        """The Decision at bar i (negative indexes count from the end) with human-readable reasons."""
        n = len(self.ts)
        if not -n <= i < n:
            raise IndexError(f"bar {i} out of range for {n} bars")
        i %= n
        d = int(self.direction[i])
        votes = tuple(
            (v.strategy.name, int(v.direction[i]), float(v.weight[i]))
            for v in self.votes
            if v.direction[i] != 0
        )
        return Decision(
            ts=int(self.ts[i]),
            symbol=self.symbol,
            direction=d,
            confidence=float(self.confidence[i]),
            price=float(self.close[i]),
            stop=float(self.stop[i]) if d != 0 else None,
            take=float(self.take[i]) if d != 0 else None,
            reasons=tuple(self._reasons(i)),
            strategy_votes=votes,
        )

    def _reasons(self, i: int) -> list[str]:
        out: list[str] = []
        for v in self.votes:
            if v.timed_out:
                out.append(R.timed_out_reason(v.strategy))
            elif v.direction[i] != 0:
                out.append(R.vote_reason(v.strategy, int(v.direction[i]), v.strength[i], v.weight[i]))
        if not any(v.direction[i] != 0 for v in self.votes):
            out.append(R.NO_SIGNAL)
            return out
        out.append(self.regime.describe(i))
        d = int(self.direction[i])
        net = int(np.sign(sum(float(v.weight[i] * v.direction[i] * v.strength[i]) for v in self.votes)))
        if self.higher_trend is not None and self.mtf_factor is not None and self.higher_tf:
            out.append(R.mtf_reason(self.higher_tf, int(self.higher_trend[i]), net, self.mtf_factor[i]))
        if self.micro is not None and self.micro_factor is not None:
            m = self.micro
            out.extend(
                R.micro_reasons(
                    m.flow_imbalance[i],
                    m.book_imbalance[i],
                    m.spread_bps[i],
                    m.flow_method,
                    self.micro_factor[i],
                )
            )
        strategies = [v.strategy for v in self.votes]
        out.append(
            R.verdict_reason(
                d,
                float(self.confidence[i]),
                self.min_confidence,
                float(self.atr[i]),
                net,
                float(self.stop[i]),
                float(self.take[i]),
                R.level_source(strategies, -1 if self.stop_from is None else int(self.stop_from[i])),
                R.level_source(strategies, -1 if self.take_from is None else int(self.take_from[i])),
            )
        )
        return out
