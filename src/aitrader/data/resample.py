"""Aggregate candles to a higher timeframe the way exchanges do, emitting only closed candles.

Buckets: a `dst` candle starts at an epoch multiple of `dst` (so 1h at :00, 4h at 00/04/08.. UTC,
1d at 00:00 UTC), except weeks: ccxt and the big exchanges (Binance, Kraken, Bybit) open weekly
candles on **Monday 00:00 UTC**, and the epoch was a Thursday, so week buckets are shifted by 4 days.
A bucket's candle is open = first source open, high = max, low = min, close = last source close,
volume = sum (NaN stays NaN for mark candles without volume).

Which buckets are emitted (never a candle that could still change):
- with `now_ms`: a bucket is closed when its end `start + dst <= now_ms`;
- without `now_ms`: a bucket is closed when a later source candle exists (ts >= its end), or its
  last source candle is the final sub-interval (ts + src == end), i.e. its data is complete.
A bucket only ever aggregates source candles inside it (ts < its end), so no output candle uses data
from at or after its close: truncating the input at any time T and resampling with `now_ms=T` gives
exactly the candles of the full resample that close by T.

Missing source candles are not invented: a bucket with some candles missing is built from those it
has (as an exchange does for minutes without trades), and a bucket with none is not emitted.

The first bucket is the exception: when the data starts after its start (a 1d bucket of a series
that begins at 23:02), the candle would be built from whatever part of the bucket the data happens
to cover, not from what the exchange traded in it, so it is dropped unless `partial_first=True`
(for a caller that holds exactly one bucket's candles, like the live `Rollup`). A later bucket
missing its leading candles is kept as above: there the data was running and the minutes had no trades.
"""

from __future__ import annotations

import numpy as np

from aitrader.core.candles import OHLCV, IntArray
from aitrader.core.errors import DataError
from aitrader.core.time import DAY_MS, WEEK_MS, timeframe_to_ms

# 1970-01-05 (the first Monday after the epoch) in ms: weekly buckets are aligned to it
WEEK_OFFSET_MS = 4 * DAY_MS


def bucket_offset_ms(timeframe_ms: int) -> int:
    """Where the bucket grid starts relative to the epoch: Monday for week multiples, else 0."""
    return WEEK_OFFSET_MS if timeframe_ms % WEEK_MS == 0 else 0


def bucket_start(ts: IntArray, timeframe_ms: int) -> IntArray:
    """Open time of the `timeframe_ms` bucket holding each of `ts` (int64 epoch ms)."""
    off = bucket_offset_ms(timeframe_ms)
    return ts - (ts - off) % timeframe_ms


def resample(
    ohlcv: OHLCV,
    src_tf: str | int,
    dst_tf: str | int,
    now_ms: int | None = None,
    *,
    partial_first: bool = False,
) -> OHLCV:
    """Closed `dst_tf` candles built from `src_tf` candles (sorted, unique timestamps expected);
    timeframes as strings (`5m`) or milliseconds.

    A first bucket the data starts inside of (after its open time) is dropped unless `partial_first`.
    """
    src = src_tf if isinstance(src_tf, int) else timeframe_to_ms(src_tf)
    dst = dst_tf if isinstance(dst_tf, int) else timeframe_to_ms(dst_tf)
    if dst < src or dst % src:
        raise DataError(f"cannot resample {src_tf} to {dst_tf}: {dst_tf} is not a multiple of {src_tf}")
    if bucket_offset_ms(dst) % src:
        raise DataError(f"cannot resample {src_tf} to {dst_tf}: {src_tf} does not tile Monday-aligned weeks")
    if len(ohlcv) == 0:
        return OHLCV.empty()
    ts = ohlcv.ts
    if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        raise DataError("cannot resample: candle timestamps are not strictly increasing")

    keys = bucket_start(ts, dst)
    starts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([np.zeros(1, dtype=np.intp), starts])
    ends = np.append(starts[1:], len(ts))  # exclusive
    bucket = keys[starts]

    if now_ms is not None:
        closed = bucket + dst <= now_ms
    else:
        closed = np.ones(len(bucket), dtype=bool)
        # every bucket but the last has a later candle; the last is closed only when complete
        closed[-1] = ts[-1] + src >= bucket[-1] + dst
    # closed buckets always form a prefix (buckets are in time order)
    n = len(bucket) if closed.all() else int(np.argmin(closed))
    first = 0 if partial_first or int(ts[0]) == int(bucket[0]) else 1  # the data starts mid-bucket
    if n <= first:
        return OHLCV.empty()
    if first or n < len(bucket):
        starts, ends, bucket = starts[first:n], ends[first:n], bucket[first:n]
        ohlcv = ohlcv.slice(0, int(ends[-1]))  # reduceat runs its last bucket to the array's end

    return OHLCV(
        ts=bucket.astype(np.int64, copy=False),
        open=ohlcv.open[starts],
        high=np.maximum.reduceat(ohlcv.high, starts),
        low=np.minimum.reduceat(ohlcv.low, starts),
        close=ohlcv.close[ends - 1],
        volume=np.add.reduceat(ohlcv.volume, starts),
    )
