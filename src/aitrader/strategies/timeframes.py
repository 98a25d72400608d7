"""Higher-timeframe alignment without lookahead.

A candle's timestamp is its open time and it is usable only once closed, at `ts + timeframe`. A base
bar closing at `base_ts + base_tf` may therefore see exactly the higher candles whose close is at or
before that moment; the still-forming higher candle is invisible to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, IntArray
from aitrader.core.errors import DataError, StrategyError
from aitrader.core.time import timeframe_to_ms
from aitrader.data.resample import resample as resample_closed


def tf_ms(timeframe: str | int) -> int:
    """Timeframe as milliseconds; ints pass through (already ms)."""
    return timeframe if isinstance(timeframe, int) else timeframe_to_ms(timeframe)


def align_closed(base_ts: npt.ArrayLike, base_tf: str | int, higher: OHLCV, higher_tf: str | int) -> IntArray:
    """For each base bar, the index of the last `higher` candle closed by the base bar's close; -1 if none."""
    base_close = np.asarray(base_ts, dtype=np.int64) + tf_ms(base_tf)
    higher_close = higher.ts + tf_ms(higher_tf)
    return (np.searchsorted(higher_close, base_close, side="right") - 1).astype(np.int64)


def take_aligned(values: npt.NDArray[np.float64], idx: IntArray) -> npt.NDArray[np.float64]:
    """`values[idx]` with NaN where `idx` is -1 (no closed higher candle yet)."""
    out = np.full(len(idx), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def infer_timeframe_ms(ts: npt.ArrayLike) -> int:
    """The candle interval of a series: the smallest positive step (gaps only make steps longer)."""
    t = np.asarray(ts, dtype=np.int64)
    if len(t) < 2:
        raise DataError("cannot infer the timeframe from fewer than two candles")
    steps = np.diff(t)
    pos = steps[steps > 0]
    if len(pos) == 0:
        raise DataError("cannot infer the timeframe: timestamps do not increase")
    return int(pos.min())


def resample(candles: OHLCV, timeframe: str | int) -> OHLCV:
    """Aggregate to a higher timeframe on its UTC grid; a bucket with missing minutes is kept as is.

    The last bucket may be incomplete; `align_closed` never exposes it before its nominal close,
    which is when a live exchange would publish it too.
    """
    if len(candles) == 0:
        return OHLCV.empty()
    step = tf_ms(timeframe)
    bucket = candles.ts // step
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(candles)] - 1
    return OHLCV(
        (bucket[starts] * step).astype(np.int64),
        candles.open[starts].copy(),
        np.maximum.reduceat(candles.high, starts),
        np.minimum.reduceat(candles.low, starts),
        candles.close[ends].copy(),
        np.add.reduceat(np.nan_to_num(candles.volume), starts),
    )


def informative_for(
    timeframes: Iterable[str],
    candles: OHLCV,
    given: Mapping[str, OHLCV] | None = None,
    base_tf: str | int | None = None,
    owner: str = "strategy",
) -> dict[str, OHLCV]:
    """The closed higher-timeframe candles strategies declared, resampled from their base `candles`.

    Why resample instead of fetching: the higher candles are then exactly what the base candles say,
    in backtest, paper and live alike, and a higher candle exists as soon as its last base candle
    closed. The aggregation is `data.resample` (the one the confluence's higher timeframe and the
    live cache use): a leading bucket the candles only partly cover (a trailing live window starts
    mid-bucket) is left out, so a window and the full history agree on every higher candle they both
    have, and the still-forming last bucket is not given. Entries of `given` win.
    """
    out = dict(given or {})
    wanted = [tf for tf in dict.fromkeys(timeframes) if tf not in out]
    if not wanted or len(candles) == 0:
        return out
    if base_tf is not None:
        base_ms = tf_ms(base_tf)
    elif len(candles) > 1:
        base_ms = infer_timeframe_ms(candles.ts)
    else:
        base_ms = 0  # one candle: no timeframe to build on, and no higher candle closed yet
    for tf in wanted:
        step = tf_ms(tf)
        if step <= base_ms or (base_ms and step % base_ms):
            raise StrategyError(
                f"{owner} declares informative timeframe {tf}, which is not a multiple above the "
                f"candles' timeframe ({base_ms // 1000}s); run it on a lower timeframe or drop it"
            )
        out[tf] = resample_closed(candles, base_ms, step) if base_ms else OHLCV.empty()
    return out
