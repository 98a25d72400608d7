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
        # symbol -> its frame's decision bars as rows (`_BareRows`), built on the first lookup
        self._rows: dict[str, _BareRows] = {}
        self.looked_up = 0

    def directions(self) -> dict[str, Int8Array]:
        """Per-symbol direction arrays, for the feed to jump between decisions."""
        return {s: np.asarray(f.direction, dtype=np.int8) for s, f in self._frames.items()}

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        rows = self._rows.get(symbol)
        if rows is None:
            frame = self._frames.get(symbol)
            if frame is None:
                return None
            if not self._with_reasons and hasattr(frame, "votes") and hasattr(frame, "confidence"):
                rows = self._rows[symbol] = _BareRows(frame, self._ts[symbol])
        if rows is not None:
            j = rows.at.get(event.candle.ts)
            if j is None:
                return None
            self.looked_up += 1
            return rows.decision(symbol, j)
        frame = self._frames[symbol]
        ts = self._ts[symbol]
        candle_ts = event.candle.ts
        i = int(ts.searchsorted(candle_ts))
        if i >= len(ts) or int(ts[i]) != candle_ts or frame.direction[i] == 0:
            return None
        self.looked_up += 1
        return frame.decision_at(i)


class _BareRows:
    """A confluence frame's bars with a decision (direction != 0), ready to become `Decision`s without
    the reasons text (see PrecomputedDecisions).

    Why rows: the engine asks at every event, and most events are not on a decision bar. A dict by
    candle open time answers "is there one?" without a binary search, and a decision bar's fields come
    out of one flat block per kind (ints, weights, floats), read item by item through memoryviews.
    Only decision bars are kept, so the copy is a fraction of the frame. The values are the same
    Python ints and floats the scalar reads gave (a float64 item is the same float; so is a float32
    one widened to float64 first), so the Decisions are identical.
    """

    __slots__ = ("_ints", "_n_votes", "_names", "_nums", "_weights", "at")

    def __init__(self, frame: Any, candle_ts: IntArray) -> None:
        bars = np.flatnonzero(np.asarray(frame.direction) != 0)
        votes = frame.votes
        # candle open time -> row; the feed's candle times (not the frame's) are what events carry
        self.at: dict[int, int] = dict(
            zip(np.asarray(candle_ts)[bars].tolist(), range(len(bars)), strict=True)
        )
        # per row: the frame's time, direction, then each vote's direction / each vote's weight /
        # confidence, close, stop, take; kept flat, read through memoryviews (an item is the Python int
        # or float itself: no row view and tolist per decision, a quarter of its cost)
        self._n_votes = len(votes)
        ints = np.column_stack(
            [np.asarray(frame.ts, dtype=np.int64)[bars], np.asarray(frame.direction)[bars]]
            + [np.asarray(v.direction)[bars] for v in votes]
        ).astype(np.int64)
        weights = (
            np.column_stack([np.asarray(v.weight, dtype=np.float64)[bars] for v in votes])
            if votes
            else np.empty((len(bars), 0))
        )
        columns = (frame.confidence, frame.close, frame.stop, frame.take)
        nums = np.column_stack([np.asarray(a, dtype=np.float64)[bars] for a in columns])
        self._ints: Any = np.ascontiguousarray(ints).reshape(-1).data
        self._weights: Any = np.ascontiguousarray(weights, dtype=np.float64).reshape(-1).data
        self._nums: Any = np.ascontiguousarray(nums).reshape(-1).data
        self._names = [v.strategy.name for v in votes]

    def decision(self, symbol: str, j: int) -> Decision:
        """The Decision of row `j` (as `DecisionFrame.decision_at` gives it, without the reasons)."""
        n = self._n_votes
        ints, weights, nums = self._ints, self._weights, self._nums
        at = j * (2 + n)
        ts, d = ints[at], ints[at + 1]
        at_w = j * n
        votes: list[tuple[str, int, float]] = []
        for k in range(n):
            vd = ints[at + 2 + k]
            if vd != 0:
                votes.append((self._names[k], vd, weights[at_w + k]))
        at_n = j * 4
        # positional (ts, symbol, direction, confidence, price, stop, take, reasons, strategy_votes):
        # keyword arguments cost ~40 ns each, on every decision bar
        confidence, price, stop, take = nums[at_n], nums[at_n + 1], nums[at_n + 2], nums[at_n + 3]
        return Decision(ts, symbol, d, confidence, price, stop, take, (), tuple(votes))


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
