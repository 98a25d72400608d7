"""Download historical candles from an exchange through ccxt into the history store.

Why it is careful: exchanges page their history (Kraken: 720 candles a call), throttle (429s),
fail transiently (5xx, resets), and always include the still-forming candle last. So: paginate by
advancing `since` past the last candle received; let ccxt's rate limiter pace the calls; retry
network-class errors with exponential backoff and jitter, a bounded number of times; keep only
candles that had closed by the exchange's own clock; write every page as it arrives so an
interrupted download resumes from the last stored candle instead of starting over.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import ccxt

from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError, ExchangeError
from aitrader.core.symbols import split_symbol
from aitrader.core.time import now_ms, timeframe_to_ms
from aitrader.venues.ccxt_factory import make_exchange

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[str, int, int], None]  # (symbol, candles stored so far, candles expected)


class CandleStore(Protocol):
    """What the downloader needs of `aitrader.data.store.HistoryStore`."""

    def write(self, exchange: str, symbol: str, timeframe: str, ohlcv: OHLCV, kind: str = "spot") -> int: ...

    def last_ts(self, exchange: str, symbol: str, timeframe: str, kind: str = "spot") -> int | None: ...


class Retrier:
    """Calls with bounded retries on ccxt network-class errors (429, 5xx, timeouts, resets)."""

    def __init__(
        self,
        max_retries: int = 6,
        base_s: float = 0.5,
        max_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.base_s = base_s
        self.max_s = max_s
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.retries = 0

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except ccxt.NetworkError as e:  # includes DDoSProtection/RateLimitExceeded/NotAvailable/Timeout
                if attempt >= self.max_retries:
                    raise ExchangeError(f"{what}: giving up after {attempt + 1} attempts: {e}") from None
                delay = min(self.max_s, self.base_s * 2**attempt) * self.rng.uniform(0.5, 1.0)
                log.warning(
                    "%s failed (%s: %s); retry %d in %.2fs", what, type(e).__name__, e, attempt + 1, delay
                )
                self.sleep(delay)
                attempt += 1
                self.retries += 1
            except ccxt.BadSymbol as e:
                raise DataError(f"{what}: unknown symbol: {e}") from None
            except ccxt.BaseError as e:
                raise ExchangeError(f"{what}: {type(e).__name__}: {e}") from None


def kind_of(symbol: str) -> str:
    """The store kind of a symbol's candles: `futures` for a perpetual (`BASE/QUOTE:SETTLE`), else `spot`.

    The same rule `data import` applies to file names (`..._<SETTLE>-<tf>.csv` is futures), so a
    downloaded perpetual and an imported `-futures.csv` of it are one dataset, not two.
    """
    _base, _quote, settle = split_symbol(symbol)
    return "futures" if settle else "spot"


def _server_now(exchange: Any, retrier: Retrier) -> int:
    """The exchange's clock (the replay clock for our simulator), else ours."""
    if exchange.has.get("fetchTime"):
        t = retrier.call("fetch_time", exchange.fetch_time)
        if isinstance(t, int):
            return t
    return now_ms()


def download_symbol(
    exchange: Any,
    exchange_name: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    store: CandleStore,
    retrier: Retrier,
    progress: Progress | None = None,
    page_limit: int = 720,
) -> int:
    """Download one symbol; returns how many new candles were stored.

    Perpetuals (`BTC/USDT:USDT`) are stored and resumed as kind `futures` (last-price candles).
    """
    tf = timeframe_to_ms(timeframe)
    kind = kind_of(symbol)
    last = store.last_ts(exchange_name, symbol, timeframe, kind)
    cursor = since_ms if last is None else max(since_ms, last + tf)
    server_now = _server_now(exchange, retrier)
    end = server_now - tf + 1  # candles with ts < end have closed (ts + tf <= now)
    if until_ms is not None:
        end = min(end, until_ms)
    expected = max(0, (end - cursor + tf - 1) // tf)
    added = 0
    while cursor < end:
        rows = retrier.call(
            f"fetch_ohlcv {symbol} {timeframe} since {cursor}",
            exchange.fetch_ohlcv,
            symbol,
            timeframe,
            since=cursor,
            limit=page_limit,
        )
        fresh = [r for r in rows if cursor <= int(r[0]) < end]
        if not fresh:
            break
        fresh.sort(key=lambda r: int(r[0]))
        cols = list(zip(*fresh, strict=True))
        ohlcv = OHLCV.from_arrays(*cols[:6])
        added += store.write(exchange_name, symbol, timeframe, ohlcv, kind)
        cursor = int(fresh[-1][0]) + tf
        if progress is not None:
            progress(symbol, added, expected)
    return added


def download_ohlcv(
    exchange_id: str,
    symbols: list[str],
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    store: CandleStore,
    api_url: str | None = None,
    progress: Progress | None = None,
    *,
    rate_limit_ms: int | None = None,
    max_retries: int = 6,
    backoff_base_s: float = 0.5,
    backoff_max_s: float = 30.0,
    timeout_ms: int | None = None,
) -> dict[str, int]:
    """Download closed candles of `symbols` in [since_ms, until_ms) into `store`; new rows per symbol.

    Resumes after the last stored candle. `api_url` points ccxt at another base URL (our simulator).
    """
    options: dict[str, Any] = {}
    if rate_limit_ms is not None:
        options["rateLimit"] = rate_limit_ms
    if timeout_ms is not None:
        options["timeout"] = timeout_ms
    exchange = make_exchange(exchange_id, api_url=api_url, options=options)
    retrier = Retrier(max_retries, backoff_base_s, backoff_max_s)
    retrier.call("load_markets", exchange.load_markets)
    if timeframe not in (exchange.timeframes or {}):
        raise DataError(
            f"{exchange_id} has no {timeframe} candles (it offers {', '.join(exchange.timeframes)})"
        )
    result: dict[str, int] = {}
    for symbol in symbols:
        if symbol not in exchange.markets:
            raise DataError(f"{exchange_id} does not list {symbol}")
        result[symbol] = download_symbol(
            exchange, exchange_id, symbol, timeframe, since_ms, until_ms, store, retrier, progress
        )
    return result
