"""LiveFeed: exchange candles (REST warm-up, ccxt.pro stream) -> CandleCache -> closed candles in order.

The engine's feed for paper and live. The public WebSocket connection is one
`data.live.supervisor.StreamSupervisor` (the explicit lifecycle connecting -> subscribed ->
streaming -> backoff -> resubscribe, one subscription per channel, counted in
`aitrader_ws_subscriptions`): candles of every symbol, and - when `subscribe` asks - each symbol's
ticker and top-N order book. After a dropped socket the REST backfill fetches the candles missed
meanwhile before the channels subscribe again. Every candle update goes through
`data.cache.CandleCache`, which drops duplicates, resends and out-of-order updates and closes a
candle when the next one opens; resent tickers and books are recognised by `data.live.dedupe` keys.
Every update path (REST warm-up, backfill, each channel) touches `staleness`.

Why an ordered release: streams of different symbols arrive in any order, but the engine must see
candles in (close time, symbol) order - as the historical feed of a backtest delivers them - or two
runs over the same market could size entries against different balances. A closed candle is
released once every symbol's stream has reached its close time (its forming candle opened at or
after it), or after `max_lag_s` of waiting for a silent symbol. Releasing advances the
`MarketClock` to the candle's close (see `runtime.clock`).

`last_close` answers as the historical feed does (the newest candle closed at the clock's now), so
marks never come from a candle whose close the clock has not reached. `set_interest` is ignored: a
live feed delivers every closed candle anyway.

`on_closed` (optional) is called with every closed candle the engine will be handed, as soon as the
frame closing it has gone through the cache - before the ordered release: the session computes each
pair's decision there (`StreamingDecisions.precompute`), since it depends on that pair's candles only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from aitrader.confluence.microstructure import Microstructure
from aitrader.core.candles import OHLCV, Candle
from aitrader.core.ports import CandleClosed
from aitrader.core.time import now_ms, timeframe_to_ms
from aitrader.data.cache import CandleCache
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.dedupe import book_key, ticker_key
from aitrader.data.live.staleness import StalenessTracker
from aitrader.data.live.supervisor import Channel, StreamSupervisor
from aitrader.engine.interest import Interest
from aitrader.metrics import WS_DUPLICATES_DROPPED
from aitrader.runtime.clock import MarketClock

log = logging.getLogger(__name__)


class LiveFeed:
    def __init__(
        self,
        exchange: Any,
        symbols: Sequence[str],
        timeframe: str,
        cache: CandleCache,
        clock: MarketClock,
        *,
        max_lag_s: float = 10.0,
        warmup: int = 720,
    ) -> None:
        if cache.timeframe != timeframe:
            raise ValueError(f"cache timeframe {cache.timeframe} != feed timeframe {timeframe}")
        self.exchange = exchange
        self.symbols = list(symbols)
        self._rank = {s: i for i, s in enumerate(self.symbols)}
        self.timeframe = timeframe
        self.tf_ms = timeframe_to_ms(timeframe)
        self.cache = cache
        self.clock = clock
        self.max_lag_s = max_lag_s
        self.warmup = warmup
        self._pending: list[tuple[int, int, int, CandleClosed]] = []  # (close ms, rank, seq, event)
        self._waiting_since: dict[int, float] = {}  # seq -> monotonic time it became pending
        self._seq = 0
        self._resume_after: dict[str, int] = {}
        self._changed = asyncio.Event()
        self.updates = 0
        self.on_closed: Callable[[CandleClosed], object] | None = None
        # per-pair freshness of the candle stream in wall time, touched on every update path (REST
        # warm-up and each WebSocket message); the session checks it for entries and alerts
        self.staleness: StalenessTracker | None = None
        self.streams: StreamSupervisor | None = None  # built by `subscribe`
        self.book_limit = 10
        self.tickers: dict[str, dict[str, Any]] = {}
        self.books: dict[str, dict[str, Any]] = {}  # bids/asks [[price, amount], ...] best first
        # (symbol, last price, ts) of every fresh ticker: a live venue checks its stops on it
        self.on_tick: Callable[[str, float, int], None] | None = None
        self.duplicates: dict[str, int] = {}  # resent tickers / books dropped, per channel
        self._ticker_keys: dict[str, Any] = {}
        self._book_keys: dict[str, Any] = {}
        self._beat: Callable[[], object] | None = None
        self._streamed: tuple[str, ...] = ("ohlcv",)

    # ------------------------------------------------------------------ filling the cache
    async def warm_up(self, resume_after: Mapping[str, int] | None = None) -> int:
        """REST history of every symbol into the cache. After a restart (`resume_after[symbol]` = the
        last candle a previous run handled) the newer closed candles are queued for the engine, so
        what closed while it was down is still handled in order; on a first start (None) history
        only fills the window. Returns how many candles were queued."""
        queued = 0
        for s in self.symbols:
            known = resume_after is not None and s in resume_after
            self._resume_after[s] = resume_after[s] if resume_after is not None and known else 2**62
            if self.staleness is not None:
                self.staleness.expect(s, "ohlcv", now_ms())
            rows = await self.exchange.fetch_ohlcv(s, self.timeframe, limit=self.warmup)
            queued += self._ingest(s, rows)
            if not known:  # first start: history fills the window only; trading starts with the stream
                last = self.cache.last_closed(s)
                self._resume_after[s] = -1 if last is None else last.ts
        return queued

    def handled_upto(self, symbol: str) -> int:
        """Open time of the newest candle of `symbol` the engine is not handed as an event (the
        warm-up history on a first start, the last one handled before a restart); -1 if none."""
        return self._resume_after.get(symbol, -1)

    def subscribe(
        self,
        *,
        ticker: bool = True,
        book: bool = True,
        book_limit: int = 10,
        backoff: Backoff | None = None,
    ) -> StreamSupervisor:
        """The public connection's channels (idempotent): candles of every symbol, plus its ticker
        and its top-`book_limit` order book when asked. `stream` runs it."""
        if self.streams is not None:
            return self.streams
        self.book_limit = book_limit
        sup = StreamSupervisor(self.exchange, "public", backoff=backoff, warmup=self._backfill)
        ex, tf = self.exchange, self.timeframe
        for s in self.symbols:
            channels: list[tuple[str, str, Any, tuple[Any, ...], Callable[[str, Any], None]]]
            channels = [("ohlcv", f"ohlcv:{s}:{tf}", ex.watch_ohlcv, (s, tf), self._on_ohlcv)]
            if ticker:
                channels.append(("ticker", f"ticker:{s}", ex.watch_ticker, (s,), self._on_ticker))
            if book:
                key = f"orderbook:{s}:{book_limit}"
                channels.append(("orderbook", key, ex.watch_order_book, (s, book_limit), self._on_book))
            for name, key, watch, args, handle in channels:
                sup.add(Channel(name, key, functools.partial(watch, *args), functools.partial(handle, s)))
        self._streamed = ("ohlcv",) + (("ticker",) if ticker else ()) + (("book",) if book else ())
        self.streams = sup
        return sup

    async def stream(self, beat: Callable[[], object] | None = None) -> None:
        """Run the public connection in this task until cancelled (it reconnects by itself);
        `beat` is called on every message."""
        sup = self.subscribe() if self.streams is None else self.streams
        self._beat = beat
        if self.staleness is not None:  # the channels beyond candles are required from now on
            now = now_ms()
            for s in self.symbols:
                for stream in self._streamed:
                    self.staleness.expect(s, stream, now)
        await sup.serve()

    def stream_status(self) -> dict[str, Any]:
        """The public connection for operators: lifecycle state, reconnects, live subscriptions
        per channel, resends dropped, and the streams now stale per pair."""
        sup = self.streams
        subs = {} if sup is None else sup.subscriptions()
        now = now_ms()
        stale = {}
        if self.staleness is not None:
            stale = {s: list(v) for s in self.symbols if (v := self.staleness.stale_streams(s, now))}
        return {
            "state": "idle" if sup is None else sup.state.value,
            "reconnects": 0 if sup is None else sup.reconnects,
            "subscriptions": subs,
            "duplicates": dict(sorted(self.duplicates.items())),
            "stale": stale,
        }

    async def _backfill(self, resubscribing: bool) -> None:
        """Before channels subscribe again after a lost socket: the candles closed meanwhile, by
        REST (the first connection follows `warm_up`, which has done this already)."""
        if not resubscribing:
            return
        for s in self.symbols:
            last = self.cache.last_closed(s)
            since = None if last is None else last.ts
            rows = await self.exchange.fetch_ohlcv(s, self.timeframe, since=since, limit=self.warmup)
            self._ingest(s, rows)

    def _on_ohlcv(self, symbol: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._beat is not None:
            self._beat()
        self._ingest(symbol, rows)

    def _fresh(self, channel: str, symbol: str, key: Any, keys: dict[str, Any]) -> bool:
        """Count and drop a resent ticker or book (same content as the last one)."""
        if self._beat is not None:
            self._beat()
        if keys.get(symbol) == key:
            self.duplicates[channel] = self.duplicates.get(channel, 0) + 1
            WS_DUPLICATES_DROPPED.labels(channel).inc()
            return False
        keys[symbol] = key
        return True

    def _on_ticker(self, symbol: str, t: dict[str, Any]) -> None:
        if not self._fresh("ticker", symbol, ticker_key(t), self._ticker_keys):
            return
        self.tickers[symbol] = dict(t)
        now = now_ms()
        if self.staleness is not None:
            self.staleness.touch(symbol, "ticker", now)
        last = t.get("last")
        if self.on_tick is not None and last is not None:
            ts = t.get("timestamp")
            self.on_tick(symbol, float(last), int(ts) if ts is not None else now)

    def _on_book(self, symbol: str, ob: Any) -> None:
        n = self.book_limit
        snap: dict[str, Any] = {
            "symbol": symbol,
            "bids": [[float(p), float(q)] for p, q, *_ in list(ob["bids"])[:n]],
            "asks": [[float(p), float(q)] for p, q, *_ in list(ob["asks"])[:n]],
            "timestamp": ob.get("timestamp"),
            "nonce": ob.get("nonce"),
        }
        if not self._fresh("orderbook", symbol, book_key(snap, n), self._book_keys):
            return
        self.books[symbol] = snap
        if self.staleness is not None:
            self.staleness.touch(symbol, "book", now_ms())

    def book_micro(self, symbol: str, bar_ts: int) -> Microstructure | None:
        """The latest top-N book of `symbol` as bar `bar_ts`'s microstructure row (book imbalance and
        spread; no trade flow), or None when no book arrived or the book stream is stale: confluence
        then decides without the factor, as a backtest without book data does."""
        snap = self.books.get(symbol)
        if snap is None or not snap["bids"] or not snap["asks"]:
            return None
        if self.staleness is not None and self.staleness.is_stale(symbol, "book", now_ms()):
            return None
        return Microstructure.from_book(bar_ts, snap["bids"], snap["asks"], self.book_limit)

    def _ingest(self, symbol: str, rows: Sequence[Sequence[Any]]) -> int:
        if self.staleness is not None:
            self.staleness.touch(symbol, "ohlcv", now_ms())
        n = 0
        last = self._resume_after.get(symbol, -1)
        for r in rows:
            c = Candle(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5] or 0.0))
            self.updates += 1
            pushed = []
            for ev in self.cache.update(symbol, c, c.ts).closed:
                if ev.timeframe == self.timeframe and ev.candle.ts > last:
                    self._push(ev)
                    pushed.append(ev)
            n += len(pushed)
            if self.on_closed is not None:  # after the whole update: its higher candles closed too
                for ev in pushed:
                    try:
                        self.on_closed(ev)
                    except Exception:  # the engine's own call computes it again (and fails there)
                        log.exception("on_closed failed for %s %d", ev.symbol, ev.candle.ts)
        self._changed.set()
        return n

    def _push(self, ev: CandleClosed) -> None:
        self._seq += 1
        heapq.heappush(
            self._pending, (ev.candle.ts + self.tf_ms, self._rank.get(ev.symbol, 0), self._seq, ev)
        )
        self._waiting_since[self._seq] = time.monotonic()

    # ------------------------------------------------------------------ releasing in order
    def _frontier(self, symbol: str) -> int:
        """Close times up to this are complete for `symbol` (its forming candle opened there)."""
        forming = self.cache.forming(symbol)
        if forming is not None:
            return forming.ts
        last = self.cache.last_closed(symbol)
        return -1 if last is None else last.ts + self.tf_ms

    def releasable(self) -> list[CandleClosed]:
        """Pop the closed candles every stream has caught up with (or that waited too long), in
        (close time, symbol) order, advancing the clock to each close."""
        out: list[CandleClosed] = []
        now = time.monotonic()
        while self._pending:
            close_ms, _rank, seq, ev = self._pending[0]
            behind = [s for s in self.symbols if s != ev.symbol and self._frontier(s) < close_ms]
            if behind and now - self._waiting_since[seq] < self.max_lag_s:
                break
            if behind:
                log.warning(
                    "releasing %s %d without %s (no data for %.0f s)",
                    ev.symbol,
                    close_ms,
                    behind,
                    now - self._waiting_since[seq],
                )
            heapq.heappop(self._pending)
            del self._waiting_since[seq]
            self.clock.advance_to(close_ms)
            out.append(ev)
        return out

    async def next_batch(self, poll_s: float = 0.5) -> list[CandleClosed]:
        """Wait until something is releasable (checking lagging symbols every `poll_s`)."""
        while True:
            got = self.releasable()
            if got:
                return got
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), poll_s if self._pending else None)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ EngineFeed
    def events(self) -> Iterator[CandleClosed]:
        yield from self.releasable()

    def set_interest(self, symbol: str, interest: Interest) -> None:
        return None

    def last_close(self, symbol: str) -> tuple[int, float] | None:
        """(open time, close) of the newest candle of `symbol` closed at the clock's now - the
        historical feed's meaning, so marks (and equity, and sizing) agree with a backtest's."""
        now = self.clock.now()
        last = self.cache.last_closed(symbol)
        if last is None:
            return None
        if last.ts + self.tf_ms <= now:
            return (last.ts, last.close)
        w = self.cache.window(symbol)
        k = int(w.ts.searchsorted(now - self.tf_ms, side="right")) - 1
        return (int(w.ts[k]), float(w.close[k])) if k >= 0 else None

    def window(self, symbol: str, upto_ts: int, timeframe: str | None = None) -> OHLCV:
        """Closed candles of `symbol` with open time <= `upto_ts` (what a decision at that bar may see)."""
        w = self.cache.window(symbol, timeframe)
        k = int(w.ts.searchsorted(upto_ts, side="right"))
        return w if k == len(w) else w.slice(0, k)
