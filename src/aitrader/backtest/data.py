"""Candles for a backtest: read from the Parquet store, cut to the timerange, optionally gap-filled.

Why gaps are left alone by default: a candle an exchange never printed (no trades in that minute) is
not data. Indicators run over the candles that exist, exactly as they would live. `--fill-gaps`
forward-fills flat candles (open = high = low = close = previous close, volume 0) for users who want
a regular grid; that is a choice, never a silent default.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError
from aitrader.core.symbols import split_symbol
from aitrader.core.time import timeframe_to_ms
from aitrader.data.store import HistoryStore


def fill_gaps(candles: OHLCV, timeframe_ms: int) -> OHLCV:
    """Insert flat zero-volume candles at the previous close for every missing interval."""
    n = len(candles)
    if n < 2:
        return candles
    steps = (candles.ts - candles.ts[0]) // timeframe_ms
    if steps[-1] == n - 1:
        return candles  # nothing missing
    m = int(steps[-1]) + 1
    ts = candles.ts[0] + np.arange(m, dtype=np.int64) * timeframe_ms
    have = np.zeros(m, dtype=np.bool_)
    have[steps] = True
    src = np.cumsum(have) - 1  # index of the newest real candle at or before each slot
    close = candles.close[src]
    out = {}
    for name in ("open", "high", "low"):
        col = np.array(close, dtype=np.float64)
        col[steps] = getattr(candles, name)
        out[name] = col
    vol = np.zeros(m)
    vol[steps] = candles.volume
    return OHLCV(ts, out["open"], out["high"], out["low"], close, vol)


def available_pairs(store: HistoryStore, exchange: str, timeframe: str) -> list[str]:
    """Spot pairs the store holds for `exchange`/`timeframe`, sorted."""
    return sorted(
        d.symbol
        for d in store.datasets()
        if d.exchange == exchange and d.timeframe == timeframe and d.kind == "spot"
    )


def load_candles(
    datadir: Path,
    exchange: str,
    pairs: list[str],
    timeframe: str,
    start_ms: int | None,
    end_ms: int | None,
    fill: bool = False,
) -> dict[str, OHLCV]:
    """Candles per pair (in `pairs` order); DataError naming what is missing."""
    store = HistoryStore(datadir)
    tf_ms = timeframe_to_ms(timeframe)
    out: dict[str, OHLCV] = {}
    for pair in pairs:
        split_symbol(pair)
        c = store.read(exchange, pair, timeframe, start_ms, end_ms)
        if len(c) == 0:
            raise DataError(f"{exchange} {pair} {timeframe}: no candles in the requested timerange")
        out[pair] = fill_gaps(c, tf_ms) if fill else c
    return out


def common_quote(pairs: list[str]) -> str:
    """The quote currency all pairs share (one account currency per backtest)."""
    quotes = {split_symbol(p)[1] for p in pairs}
    if len(quotes) != 1:
        raise DataError(
            f"pairs are quoted in {', '.join(sorted(quotes))}: a backtest needs one quote currency "
            f"(set backtest.quote_currency and pick pairs quoted in it)"
        )
    return quotes.pop()
