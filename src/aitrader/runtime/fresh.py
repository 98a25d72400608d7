"""FreshEntries: no new position is opened on a pair whose market data has gone quiet.

Why a DecisionSource wrapper: the rule is about the data, not about any strategy or the risk
limits, and it must hold in every mode without the engine branching. The inner source is always
asked (its streaming state must see every candle); only an entry proposal (direction +1) is
withheld while `StalenessTracker.entries_allowed` says a required stream is stale. Exits pass
untouched: a position must stay closable whatever the feed does. The tracker's own alert fires
once per stale episode (the session's periodic check sends it to the log and Telegram).
"""

from __future__ import annotations

from collections.abc import Callable

from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.core.time import now_ms
from aitrader.data.live.staleness import StalenessTracker
from aitrader.engine.decisions import DecisionSource


class FreshEntries:
    def __init__(
        self,
        inner: DecisionSource,
        staleness: StalenessTracker,
        *,
        on_blocked: Callable[[Decision], None] | None = None,
        now: Callable[[], int] = now_ms,
    ) -> None:
        self.inner = inner
        self.staleness = staleness
        self.on_blocked = on_blocked
        self.now = now
        self.blocked = 0

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        d = self.inner.decision(symbol, event)
        if d is None or d.direction <= 0 or self.staleness.entries_allowed(symbol, self.now()):
            return d
        self.blocked += 1
        if self.on_blocked is not None:
            self.on_blocked(d)
        return None
