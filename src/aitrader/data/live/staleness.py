"""Is a pair's market data fresh enough to open a position on?

Why per stream: a WebSocket can die for one channel while another keeps ticking (the candle stream
stalls while the ticker still moves, or the book snapshot fails to resync); entries must stop when
*any* stream they rely on goes quiet, not only when the whole connection does. Every update path
(REST warm-up, each WS channel, own-order events) calls `touch`, so "last update" is true.

A stream is stale when nothing arrived for longer than its threshold since its last update, or
since it was first expected (`expect`) when it never delivered. A stale *episode* begins when a
pair's entries become blocked and ends when all its required streams are fresh again; the alert
callback fires once per episode, not once per check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from aitrader.metrics import DATA_STALE_EPISODES

STREAMS = ("ticker", "ohlcv", "book", "orders")
# (symbol, stale streams, now ms) -> None
StaleAlert = Callable[[str, tuple[str, ...], int], None]


class StalenessTracker:
    """Last update time per (symbol, stream); `threshold_ms` per stream overrides the default."""

    def __init__(
        self,
        default_ms: int,
        threshold_ms: Mapping[str, int] | None = None,
        on_alert: StaleAlert | None = None,
    ) -> None:
        if default_ms <= 0:
            raise ValueError("the staleness threshold must be positive")
        self.default_ms = default_ms
        self.threshold_ms = dict(threshold_ms or {})
        self._alerts: list[StaleAlert] = [] if on_alert is None else [on_alert]
        self._last: dict[tuple[str, str], int] = {}
        self._since: dict[tuple[str, str], int] = {}  # when a required stream was first expected
        self._required: dict[str, set[str]] = {}
        self._episode: set[str] = set()  # symbols currently in a stale episode
        self.episodes: dict[str, int] = {}

    def add_alert(self, cb: StaleAlert) -> None:
        """Register an alert callback; registering the same callable again is a no-op."""
        if cb not in self._alerts:
            self._alerts.append(cb)

    def expect(self, symbol: str, stream: str, now: int) -> None:
        """`stream` of `symbol` is required for entries from now on (idempotent)."""
        _check(stream)
        self._required.setdefault(symbol, set()).add(stream)
        self._since.setdefault((symbol, stream), now)

    def touch(self, symbol: str, stream: str, ts: int) -> None:
        """An update of `stream` for `symbol` arrived at `ts` (never moves backwards)."""
        _check(stream)
        key = (symbol, stream)
        if ts > self._last.get(key, -1):
            self._last[key] = ts

    def last_update(self, symbol: str, stream: str) -> int | None:
        return self._last.get((symbol, stream))

    def threshold(self, stream: str) -> int:
        return self.threshold_ms.get(stream, self.default_ms)

    def is_stale(self, symbol: str, stream: str, now: int) -> bool:
        key = (symbol, stream)
        ref = self._last.get(key, self._since.get(key))
        if ref is None:
            return True  # never heard of and never expected: nothing to trust
        return now - ref > self.threshold(stream)

    def required(self, symbol: str) -> tuple[str, ...]:
        return tuple(sorted(self._required.get(symbol) or {"ohlcv"}))

    def stale_streams(self, symbol: str, now: int) -> tuple[str, ...]:
        return tuple(s for s in self.required(symbol) if self.is_stale(symbol, s, now))

    def entries_allowed(self, symbol: str, now: int) -> bool:
        """False while any required stream is stale; the first check of an episode alerts."""
        stale = self.stale_streams(symbol, now)
        if not stale:
            self._episode.discard(symbol)
            return True
        if symbol not in self._episode:
            self._episode.add(symbol)
            self.episodes[symbol] = self.episodes.get(symbol, 0) + 1
            DATA_STALE_EPISODES.labels(symbol).inc()
            for cb in list(self._alerts):
                cb(symbol, stale, now)
        return False

    def check(self, now: int, symbols: Iterable[str] | None = None) -> dict[str, bool]:
        """`entries_allowed` for every known symbol (a periodic task calls this so alerts fire)."""
        names = set(self._required) | {s for s, _ in self._last} if symbols is None else set(symbols)
        return {s: self.entries_allowed(s, now) for s in sorted(names)}


def _check(stream: str) -> None:
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}: expected one of {', '.join(STREAMS)}")
