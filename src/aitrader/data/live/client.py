"""Live market data of one exchange: REST warm-up, supervised ccxt.pro streams, the candle cache.

`MarketDataClient` is the live `DataFeed` of paper and live mode. Per pair it warms the
`CandleCache` with REST `fetch_ohlcv` history, then streams `watch_ohlcv`, `watch_ticker` and
`watch_order_book(limit=N)` on the public connection; in live mode `watch_orders` and
`watch_my_trades` on the private connection are surfaced as callbacks for the execution layer.
Each connection is a `StreamSupervisor` (state machine, backoff with jitter, resubscribe); after a
reconnect the warm-up hook backfills closed candles missed while the socket was down.

Everything an exchange resends after a reconnect (candle snapshot, book snapshot, open orders,
recent fills) is processed at most once: candles by the cache (open time + values, older ones
ignored), the rest by `data.live.dedupe` keys; dropped resends are counted per channel.

The engine consumes `events()` (async iterator of CandleClosed, base timeframe by default); the
latest order book and ticker are there for microstructure; `entries_allowed()` says whether the
pair's data is fresh enough to open a position.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Collection, Hashable, Iterable
from typing import Any, Generic, TypeVar

from aitrader.config import DataConfig
from aitrader.core.candles import OHLCV, Candle
from aitrader.core.clock import Clock, WallClock
from aitrader.core.errors import AitraderError
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.data.cache import DEFAULT_HIGHER, CandleCache, Outcome
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.dedupe import SeenKeys, book_key, order_key, ticker_key, trade_key
from aitrader.data.live.staleness import StaleAlert
from aitrader.data.live.supervisor import Channel, StreamSupervisor
from aitrader.metrics import WS_DUPLICATES_DROPPED

T = TypeVar("T")
Json = dict[str, Any]


class Callbacks(Generic[T]):
    """Listeners of one kind of event; adding the same callable twice registers it once."""

    def __init__(self) -> None:
        self._cbs: list[Callable[[T], None]] = []

    def add(self, cb: Callable[[T], None]) -> bool:
        if cb in self._cbs:
            return False
        self._cbs.append(cb)
        return True

    def remove(self, cb: Callable[[T], None]) -> None:
        with contextlib.suppress(ValueError):
            self._cbs.remove(cb)

    def fire(self, item: T) -> None:
        for cb in list(self._cbs):
            cb(item)

    def __len__(self) -> int:
        return len(self._cbs)


class MarketDataClient:
    """See the module docstring. `exchange` is a ccxt.pro instance used for the public connection
    only; `private_exchange` (authenticated, its own instance) enables own orders and fills."""

    def __init__(
        self,
        exchange: Any,
        symbols: Iterable[str],
        timeframe: str = "1m",
        *,
        higher: Iterable[str] = DEFAULT_HIGHER,
        config: DataConfig | None = None,
        cache: CandleCache | None = None,
        capacity: int = 5000,
        book_limit: int = 10,
        ticker: bool = True,
        book: bool = True,
        warmup_limit: int = 720,
        private_exchange: Any | None = None,
        clock: Clock | None = None,
        backoff: Callable[[], Backoff] = Backoff,
        close_grace_ms: int = 2_000,
        tick_s: float = 1.0,
    ) -> None:
        self.symbols = list(dict.fromkeys(symbols))
        self.timeframe = timeframe
        self.tf_ms = timeframe_to_ms(timeframe)
        self.clock: Clock = clock or WallClock()
        self.cache = cache or CandleCache(
            timeframe, higher, capacity, config=config, close_grace_ms=close_grace_ms
        )
        if self.cache.timeframe != timeframe:
            raise AitraderError(f"cache timeframe {self.cache.timeframe} != stream timeframe {timeframe}")
        self.book_limit = book_limit
        self.warmup_limit = warmup_limit
        self.tick_s = tick_s
        self.exchange = exchange
        self.public = StreamSupervisor(exchange, "public", backoff=backoff(), warmup=self._warmup)
        self.private = (
            None
            if private_exchange is None
            else StreamSupervisor(private_exchange, "private", backoff=backoff())
        )
        self._streams = {"ohlcv"} | ({"ticker"} if ticker else set()) | ({"book"} if book else set())
        for s in self.symbols:
            self._add_public(s, ticker, book)
        if self.private is not None:
            self._add_private(private_exchange)

        self.candle_closed: Callbacks[CandleClosed] = Callbacks()
        self.ticker_updates: Callbacks[Json] = Callbacks()
        self.book_updates: Callbacks[Json] = Callbacks()
        self.order_updates: Callbacks[Json] = Callbacks()
        self.trade_updates: Callbacks[Json] = Callbacks()
        self.processed: dict[str, int] = {}
        self.duplicates: dict[str, int] = {}
        self._tickers: dict[str, Json] = {}
        self._books: dict[str, Json] = {}
        self._book_keys: dict[str, Hashable] = {}
        self._ticker_keys: dict[str, Hashable] = {}
        self._orders_seen = SeenKeys()
        self._trades_seen = SeenKeys()
        self._warmed: set[str] = set()
        self._queue: asyncio.Queue[CandleClosed | None] = asyncio.Queue()
        self._consuming = False
        self._ticker_task: asyncio.Task[None] | None = None

    # --- registration (idempotent) --------------------------------------------------------------
    def on_candle_closed(self, cb: Callable[[CandleClosed], None]) -> bool:
        return self.candle_closed.add(cb)

    def on_ticker(self, cb: Callable[[Json], None]) -> bool:
        return self.ticker_updates.add(cb)

    def on_book(self, cb: Callable[[Json], None]) -> bool:
        return self.book_updates.add(cb)

    def on_order(self, cb: Callable[[Json], None]) -> bool:
        """Own order updates (live mode), each state of an order once."""
        return self.order_updates.add(cb)

    def on_trade(self, cb: Callable[[Json], None]) -> bool:
        """Own fills (live mode), each trade id once."""
        return self.trade_updates.add(cb)

    def on_stale(self, cb: StaleAlert) -> None:
        """Alert once per stale episode of a pair: cb(symbol, stale streams, now ms)."""
        self.cache.staleness.add_alert(cb)

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        now = self.clock.now()
        for s in self.symbols:
            for stream in sorted(self._streams):
                self.cache.expect(s, stream, now)
        self.public.start()
        if self.private is not None:
            self.private.start()
        if self._ticker_task is None:
            self._ticker_task = asyncio.create_task(self._tick(), name="market-data-clock")

    async def stop(self) -> None:
        if self._ticker_task is not None:
            self._ticker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker_task
            self._ticker_task = None
        await self.public.stop()
        if self.private is not None:
            await self.private.stop()
        self._queue.put_nowait(None)

    async def __aenter__(self) -> MarketDataClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the DataFeed side ----------------------------------------------------------------------
    async def events(self, timeframes: Collection[str] | None = None) -> AsyncIterator[CandleClosed]:
        """Closed candles in arrival order (one consumer), until `stop`."""
        if self._consuming:
            raise AitraderError("events() already has a consumer")
        wanted = set(timeframes) if timeframes else {self.timeframe}
        self._consuming = True
        try:
            while True:
                ev = await self._queue.get()
                if ev is None:
                    return
                if ev.timeframe in wanted:
                    yield ev
        finally:
            self._consuming = False

    def set_interest(self, symbol: str, interest: object) -> None:
        """A live feed delivers every closed candle anyway (engine.ports.EngineFeed)."""

    def last_close(self, symbol: str) -> tuple[int, float] | None:
        c = self.cache.last_closed(symbol)
        return None if c is None else (c.ts, c.close)

    def window(self, symbol: str, timeframe: str | None = None, n: int | None = None) -> OHLCV:
        return self.cache.window(symbol, timeframe, n)

    def order_book(self, symbol: str) -> Json | None:
        """The latest book (`bids`/`asks` [[price, amount], ...] best first, up to `book_limit`)."""
        return self._books.get(symbol)

    def ticker(self, symbol: str) -> Json | None:
        return self._tickers.get(symbol)

    def entries_allowed(self, symbol: str) -> bool:
        return self.cache.entries_allowed(symbol, self.clock.now())

    # --- channels -------------------------------------------------------------------------------
    def _add_public(self, symbol: str, ticker: bool, book: bool) -> None:
        ex, tf = self.exchange, self.timeframe
        self.public.add(
            Channel(
                "ohlcv",
                f"ohlcv:{symbol}:{tf}",
                lambda: ex.watch_ohlcv(symbol, tf),
                lambda rows: self._on_ohlcv(symbol, rows),
            )
        )
        if ticker:
            self.public.add(
                Channel(
                    "ticker",
                    f"ticker:{symbol}",
                    lambda: ex.watch_ticker(symbol),
                    lambda t: self._on_ticker(symbol, t),
                )
            )
        if book:
            limit = self.book_limit
            self.public.add(
                Channel(
                    "orderbook",
                    f"orderbook:{symbol}:{limit}",
                    lambda: ex.watch_order_book(symbol, limit),
                    lambda ob: self._on_book(symbol, ob),
                )
            )

    def _add_private(self, ex: Any) -> None:
        assert self.private is not None
        self.private.add(
            Channel("orders", "orders", lambda: ex.watch_orders(), self._on_orders, confirms=False)
        )
        self.private.add(
            Channel(
                "my_trades", "my_trades", lambda: ex.watch_my_trades(), self._on_my_trades, confirms=False
            )
        )

    # --- handlers -------------------------------------------------------------------------------
    def _seen(self, channel: str, new: bool) -> bool:
        if new:
            self.processed[channel] = self.processed.get(channel, 0) + 1
        else:
            self.duplicates[channel] = self.duplicates.get(channel, 0) + 1
            WS_DUPLICATES_DROPPED.labels(channel).inc()
        return new

    def _on_ohlcv(self, symbol: str, rows: Iterable[list[Any]]) -> None:
        now = self.clock.now()
        for row in sorted(rows, key=lambda r: int(r[0])):
            candle = _candle(row)
            if candle is None:
                continue
            u = self.cache.update(symbol, candle, now)
            if u.outcome is Outcome.OUTLIER:
                continue
            if self._seen("ohlcv", u.accepted):
                self._emit(u.closed)
        self._emit(self.cache.advance(now))

    def _on_ticker(self, symbol: str, t: Json) -> None:
        key = ticker_key(t)
        if not self._seen("ticker", key != self._ticker_keys.get(symbol)):
            return
        self._ticker_keys[symbol] = key
        self._tickers[symbol] = dict(t)
        self.cache.touch(symbol, "ticker", self.clock.now())
        self.ticker_updates.fire(self._tickers[symbol])

    def _on_book(self, symbol: str, ob: Any) -> None:
        n = self.book_limit
        snap: Json = {
            "symbol": symbol,
            "bids": [[float(p), float(q)] for p, q, *_ in list(ob["bids"])[:n]],
            "asks": [[float(p), float(q)] for p, q, *_ in list(ob["asks"])[:n]],
            "timestamp": ob.get("timestamp"),
            "nonce": ob.get("nonce"),
        }
        key = book_key(snap, n)
        if not self._seen("orderbook", key != self._book_keys.get(symbol)):
            return
        self._book_keys[symbol] = key
        self._books[symbol] = snap
        self.cache.touch(symbol, "book", self.clock.now())
        self.book_updates.fire(snap)

    def _on_orders(self, orders: Iterable[Json]) -> None:
        now = self.clock.now()
        for live in orders:
            o = dict(live)  # ccxt updates its order dicts in place; listeners keep this state
            if self._seen("orders", self._orders_seen.add(order_key(o))):
                if o.get("symbol"):
                    self.cache.touch(str(o["symbol"]), "orders", now)
                self.order_updates.fire(o)

    def _on_my_trades(self, trades: Iterable[Json]) -> None:
        now = self.clock.now()
        for live in trades:
            t = dict(live)
            if self._seen("my_trades", self._trades_seen.add(trade_key(t))):
                if t.get("symbol"):
                    self.cache.touch(str(t["symbol"]), "orders", now)
                self.trade_updates.fire(t)

    def _emit(self, events: Iterable[CandleClosed]) -> None:
        for ev in events:
            self._queue.put_nowait(ev)
            self.candle_closed.fire(ev)

    # --- REST warm-up / backfill and the clock --------------------------------------------------
    async def _warmup(self, resubscribing: bool) -> None:
        """History before streaming; after a reconnect, the closed candles missed meanwhile."""
        for symbol in self.symbols:
            last = self.cache.last_closed(symbol)
            since = None if last is None else last.ts + self.tf_ms
            rows = await self.exchange.fetch_ohlcv(
                symbol, self.timeframe, since=since, limit=self.warmup_limit
            )
            candles = [c for c in map(_candle, rows) if c is not None]
            if not candles:
                continue
            ohlcv = OHLCV.from_arrays(*zip(*candles, strict=True))
            events = self.cache.load(symbol, ohlcv, self.clock.now())
            if symbol in self._warmed:
                self._emit(events)  # missed while disconnected: the engine has not seen them
            self._warmed.add(symbol)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            now = self.clock.now()
            self._emit(self.cache.advance(now))
            self.cache.staleness.check(now, self.symbols)


def _candle(row: list[Any]) -> Candle | None:
    """A ccxt OHLCV row as a Candle; rows without prices are skipped, a missing volume is NaN."""
    if len(row) < 5 or any(v is None for v in row[:5]):
        return None
    vol = row[5] if len(row) > 5 and row[5] is not None else math.nan
    return Candle(int(row[0]), float(row[1]), float(row[2]), float(row[3]), float(row[4]), float(vol))
