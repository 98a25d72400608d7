"""Where the engine's decisions come from: precomputed arrays in backtests, `evaluate_last` live.

Why a protocol: the engine asks "what is the decision at this closed candle?" and must not care
whether the answer was computed vectorised over the whole history (backtest: honest because every
strategy passes the lookahead guard, `strategies.lookahead`) or just now for the newest bar (live:
`Confluence.evaluate_last` over the candle cache). Both return the same `Decision` for the same bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, IntArray
from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.strategies.base import Signals, Strategy

Int8Array = npt.NDArray[np.int8]


class DecisionSource(Protocol):
    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        """The decision known at the close of `event.candle`, or None when nothing is proposed."""
        ...


class DecisionArrays(Protocol):
    """Per-bar decisions of one pair (confluence's `DecisionFrame` has this shape)."""

    @property
    def direction(self) -> Int8Array: ...

    def decision_at(self, i: int) -> Decision: ...


class PrecomputedDecisions:
    """Decisions computed once over the whole history; looked up by candle open time.

    `with_reasons=False` (backtests) builds each Decision straight from a confluence frame's arrays
    without composing its human-readable reasons: same direction, confidence, levels and votes, a
    quarter of the cost per event. Frames of other shapes always go through `decision_at`.
    """

    def __init__(
        self, frames: Mapping[str, DecisionArrays], ts: Mapping[str, IntArray], with_reasons: bool = True
    ) -> None:
        for s, f in frames.items():
            if len(f.direction) != len(ts[s]):
                raise ValueError(f"{s}: {len(f.direction)} decisions for {len(ts[s])} candles")
        self._frames = dict(frames)
        self._ts = {s: ts[s] for s in frames}
        self._with_reasons = with_reasons
        # symbol -> (name, direction, weight) per vote, looked up once instead of per decision
        self._votes: dict[str, list[tuple[str, Any, Any]]] = {}
        self.looked_up = 0

    def directions(self) -> dict[str, Int8Array]:
        """Per-symbol direction arrays, for the feed to jump between decisions."""
        return {s: np.asarray(f.direction, dtype=np.int8) for s, f in self._frames.items()}

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        frame = self._frames.get(symbol)
        if frame is None:
            return None
        ts = self._ts[symbol]
        candle_ts = event.candle.ts
        i = int(ts.searchsorted(candle_ts))
        if i >= len(ts) or int(ts[i]) != candle_ts or frame.direction[i] == 0:
            return None
        self.looked_up += 1
        if not self._with_reasons and hasattr(frame, "votes") and hasattr(frame, "confidence"):
            votes = self._votes.get(symbol)
            if votes is None:
                votes = self._votes[symbol] = [(v.strategy.name, v.direction, v.weight) for v in frame.votes]
            return _bare_decision(symbol, frame, i, votes)
        return frame.decision_at(i)


def _bare_decision(symbol: str, frame: Any, i: int, votes: list[tuple[str, Any, Any]]) -> Decision:
    """A confluence frame's Decision at bar i without the reasons text (see PrecomputedDecisions);
    `votes` are the frame's votes as (strategy name, direction, weight)."""
    d = int(frame.direction[i])
    return Decision(
        ts=int(frame.ts[i]),
        symbol=symbol,
        direction=d,
        confidence=float(frame.confidence[i]),
        price=float(frame.close[i]),
        stop=float(frame.stop[i]) if d != 0 else None,
        take=float(frame.take[i]) if d != 0 else None,
        strategy_votes=tuple(
            (name, int(vd), float(w[i])) for name, direction, w in votes if (vd := direction[i]) != 0
        ),
    )


class SignalFrame:
    """One strategy's `Signals` as decisions, without confluence (reference runs and hyperopt).

    confidence = the signal's strength; stop/take = the strategy's own hints (None when NaN); price =
    the bar's close. The strategy name is the only vote, so trades are attributed to it.
    """

    def __init__(self, symbol: str, candles: OHLCV, strategy: Strategy, signals: Signals) -> None:
        self._symbol = symbol
        self._candles = candles
        self._strategy = strategy
        self._signals = signals

    @property
    def direction(self) -> Int8Array:
        return self._signals.direction

    def decision_at(self, i: int) -> Decision:
        sig = self._signals
        d = int(sig.direction[i])
        stop = float(sig.stop[i])
        take = float(sig.take[i])
        return Decision(
            ts=int(self._candles.ts[i]),
            symbol=self._symbol,
            direction=d,
            confidence=float(sig.strength[i]),
            price=float(self._candles.close[i]),
            stop=None if np.isnan(stop) else stop,
            take=None if np.isnan(take) else take,
            reasons=(self._strategy.explain(d),),
            strategy_votes=((self._strategy.name, d, float(sig.strength[i])),),
        )
