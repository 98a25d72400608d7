"""A session's closed candles go to the history store, so what it saw outlives it.

Why: scheduled ML retraining, `aitrader backtest` and the dashboard's chart read the Parquet history
store. A session that never wrote to it would retrain on the same candles for ever and leave gaps a
download must fill. Every `data.record_history_ms` (and once at shutdown) the closed candles of each
pair newer than the last ones written are merged into the store under the exchange's name (the
store de-duplicates; the exchange's own candles win over anything stored for the same minute).

Split in two on purpose: `pending()` copies from the live cache on the event loop (the cache is not
thread-safe), `write()` does the file work off the loop.
"""

from __future__ import annotations

from aitrader.core.candles import OHLCV
from aitrader.data.cache import CandleCache
from aitrader.data.download import kind_of
from aitrader.data.store import HistoryStore


class HistoryRecorder:
    def __init__(
        self, store: HistoryStore, exchange: str, timeframe: str, cache: CandleCache, pairs: list[str]
    ) -> None:
        self.store = store
        self.exchange = exchange
        self.timeframe = timeframe
        self.cache = cache
        self.pairs = list(pairs)
        self.written: dict[str, int] = {}  # pair -> open time of the newest candle written
        self.rows = 0  # candles new to the store, this session

    def pending(self) -> list[tuple[str, OHLCV]]:
        """Closed candles not written yet, per pair (call on the event loop)."""
        out = []
        for pair in self.pairs:
            w = self.cache.window(pair)
            if len(w) == 0:
                continue
            k = int(w.ts.searchsorted(self.written.get(pair, -1), "right"))
            if k < len(w):
                out.append((pair, w.slice(k)))
        return out

    def write(self, batch: list[tuple[str, OHLCV]]) -> int:
        """Merge `batch` into the store (call off the loop); returns candles new to the store."""
        added = 0
        for pair, c in batch:
            added += self.store.write(self.exchange, pair, self.timeframe, c, kind_of(pair))
            self.written[pair] = int(c.ts[-1])
        self.rows += added
        return added
