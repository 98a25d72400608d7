"""Model features from candles: the ONE function training, backtests and the live gate all call.

Why one function: a model is only as good as the agreement between the numbers it was trained on and
the numbers it is asked about. `compute(candles)` returns a matrix with one row per candle, each row
using only that candle and earlier ones (bar t is usable at its close). Features come in groups by
how many trailing bars decide a row: `recursive_history` (1000 bars, long enough that every EMA /
Wilder recursion has forgotten its seed), `finite_history` (~100) for the fixed-window ones, k + 2
higher candles for each higher-timeframe return. The live path, `compute_last`, computes only the
newest row over those trailing bars in one compiled call (`_row_kernel`: the same indicator kernels,
the formulas repeated): ~0.07 ms instead of ~0.9 ms through the Python-level indicator calls. Its
row equals the vectorised last row (tested on real data at many ends and on generated series with
gaps and flat bars), which is what keeps the two paths from drifting apart.

Features are scale-free (returns, ratios to the close, oscillators / 100) so one model can serve
many pairs: log returns over several bar counts, log returns of CLOSED higher-timeframe candles
(never the still-forming one), realised volatility, RSI, MACD histogram, Bollinger
%b and width, ATR, ADX and DI spread, stochastic %K, CCI, MFI, volume vs its mean, distance to an
EMA, percentile rank of the close, bar range, and the hour of day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from types import ModuleType
from typing import Any

import numpy as np

from aitrader.core.candles import OHLCV, FloatArray, IntArray
from aitrader.core.errors import DataError
from aitrader.core.time import HOUR_MS, timeframe_to_ms
from aitrader.indicators import (
    adx,
    atr,
    bbands,
    cci,
    ema,
    macd,
    mfi,
    minus_di,
    percentile_rank,
    plus_di,
    rolling_std,
    rsi,
    sma,
    stoch,
)

# Recursive indicators forget their seed geometrically: after 20 periods of the slowest EMA(50) the
# seed's weight is (49/51)^1000 ~ e^-40, far below float64 resolution of the features.
_SEED_FADE = 20
_BB_CCI = 20  # Bollinger and CCI window
_STOCH_SMOOTH = 3 + 3  # stochastic %K and %D smoothing on top of its look-back
_WINDOW_SLACK = 8  # a few spare bars: the fixed-window features are exact from their window on


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """Which features; the defaults are what the registry's models are trained with."""

    return_bars: tuple[int, ...] = (1, 3, 12, 48)
    higher_timeframes: tuple[str, ...] = ("1h", "4h")
    higher_return_bars: tuple[int, ...] = (1, 4)
    period: int = 14
    slow_period: int = 50
    vol_window: int = 48
    rank_window: int = 96

    @property
    def names(self) -> tuple[str, ...]:
        out = [f"ret_{k}" for k in self.return_bars]
        out += [f"ret_{tf}_{k}" for tf in self.higher_timeframes for k in self.higher_return_bars]
        out += [
            "realised_vol",
            "rsi",
            "macd_hist",
            "bb_pct_b",
            "bb_width",
            "atr",
            "adx",
            "di_spread",
            "stoch_k",
            "cci",
            "mfi",
            "volume_ratio",
            "ema_distance",
            "close_rank",
            "bar_range",
            "hour_sin",
            "hour_cos",
        ]
        return tuple(out)

    @property
    def recursive_history(self) -> int:
        """Bars after which every EMA / Wilder recursion (slowest: EMA(50), MACD's 26) forgot its seed."""
        return _SEED_FADE * max(self.period, self.slow_period, 26)

    @property
    def finite_history(self) -> int:
        """Bars the fixed-window features look at (longest window, +1 for a return inside it), +slack."""
        longest = max(
            max(self.return_bars) + 1,
            self.vol_window + 1,
            self.rank_window + 1,
            _BB_CCI + 1,
            self.period + 1 + _STOCH_SMOOTH,
        )
        return longest + _WINDOW_SLACK

    @property
    def history(self) -> int:
        """Trailing base bars `compute_last` needs for its row to equal the full computation's."""
        return max(self.recursive_history, self.finite_history)

    def higher_bars_of(self, base_tf_ms: int, tf: str) -> int:
        """Base bars holding the (k + 1) closed `tf` candles of the longest return, + one of slack."""
        return (max(self.higher_return_bars) + 2) * timeframe_to_ms(tf) // base_tf_ms

    def higher_bars(self, base_tf_ms: int) -> int:
        """Base bars spanning the longest higher-timeframe return, plus one higher candle of slack."""
        if not self.higher_timeframes:
            return 0
        return max(self.higher_bars_of(base_tf_ms, tf) for tf in self.higher_timeframes)

    def window(self, base_tf_ms: int) -> int:
        return max(self.history, self.higher_bars(base_tf_ms))


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """Rows aligned with the candles they came from; NaN where a feature is not defined yet."""

    ts: IntArray
    values: FloatArray  # shape (n, len(names)), float64, C-contiguous
    names: tuple[str, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.ts)


def _log_ret(c: FloatArray, k: int) -> FloatArray:
    out = np.full(len(c), np.nan)
    if len(c) > k:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[k:] = np.log(c[k:] / c[:-k])
    return out


def _ratio(a: FloatArray, b: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(a / b, dtype=np.float64)


def _higher_returns(candles: OHLCV, base_tf_ms: int, tf: str, bars: tuple[int, ...]) -> list[FloatArray]:
    """log(close of the newest CLOSED `tf` candle / close k `tf` candles before it), per base bar.

    The arithmetic of `resample` + `align_closed` without building the higher OHLCV (this is on the
    live path): a `tf` candle is the run of base bars in one UTC bucket, its close the close of the
    run's last bar, and it is closed once a base bar's close reaches the bucket's end. Buckets
    without bars do not exist, so k counts candles that exist, as in `resample`.
    """
    n = len(candles)
    step = timeframe_to_ms(tf)
    bucket = candles.ts // step
    ends = np.flatnonzero(np.diff(bucket, append=bucket[-1] + 1 if n else 0))  # last bar of each bucket
    closes = candles.close[ends]
    idx = np.searchsorted((bucket[ends] + 1) * step, candles.ts + base_tf_ms, side="right") - 1
    out = []
    for k in bars:
        col = np.full(n, np.nan)
        ok = idx >= k
        with np.errstate(divide="ignore", invalid="ignore"):
            col[ok] = np.log(closes[idx[ok]] / closes[idx[ok] - k])
        out.append(col)
    return out


Columns = dict[str, FloatArray]


def _recursive_cols(candles: OHLCV, spec: FeatureSpec, tf: int) -> Columns:
    """Features whose value depends on every earlier bar (EMA / Wilder recursions): `spec.history` bars."""
    h, lo, c = candles.high, candles.low, candles.close
    p = spec.period
    return {
        "rsi": rsi(c, p) / 100.0,
        "macd_hist": _ratio(macd(c)[2], c),
        "atr": _ratio(atr(h, lo, c, p), c),
        "adx": adx(h, lo, c, p) / 100.0,
        "di_spread": (plus_di(h, lo, c, p) - minus_di(h, lo, c, p)) / 100.0,
        "ema_distance": np.log(_ratio(c, ema(c, spec.slow_period))),
    }


def _windowed_cols(candles: OHLCV, spec: FeatureSpec, tf: int) -> Columns:
    """Features of a fixed number of trailing bars: `spec.finite_history` bars decide the last row."""
    h, lo, c, v = candles.high, candles.low, candles.close, candles.volume
    cols = {f"ret_{k}": _log_ret(c, k) for k in spec.return_bars}
    cols["realised_vol"] = rolling_std(_log_ret(c, 1), spec.vol_window)
    upper, _mid, lower = bbands(c, _BB_CCI)
    cols["bb_pct_b"] = _ratio(c - lower, upper - lower)
    cols["bb_width"] = _ratio(upper - lower, c)
    cols["stoch_k"] = stoch(h, lo, c)[0] / 100.0
    cols["cci"] = cci(h, lo, c, _BB_CCI) / 100.0
    cols["mfi"] = mfi(h, lo, c, v, spec.period) / 100.0
    cols["volume_ratio"] = _ratio(v, sma(v, spec.vol_window))
    cols["close_rank"] = percentile_rank(c, spec.rank_window)
    cols["bar_range"] = _ratio(h - lo, c)
    angle = 2.0 * np.pi * ((candles.ts + tf) % (24 * HOUR_MS)) / (24 * HOUR_MS)  # hour of the bar's close
    cols["hour_sin"] = np.sin(angle)
    cols["hour_cos"] = np.cos(angle)
    return cols


def _higher_cols(candles: OHLCV, spec: FeatureSpec, tf: int, htf: str) -> Columns:
    """Returns of closed `htf` candles: `spec.higher_bars_of(tf, htf)` bars decide the last row."""
    cols = _higher_returns(candles, tf, htf, spec.higher_return_bars)
    return {f"ret_{htf}_{k}": col for k, col in zip(spec.higher_return_bars, cols, strict=True)}


def _groups(spec: FeatureSpec, tf: int) -> list[tuple[int, Callable[[OHLCV], Columns]]]:
    """(trailing bars that decide the newest row, column builder) for every feature group."""
    out: list[tuple[int, Callable[[OHLCV], Columns]]] = [
        (spec.recursive_history, partial(_recursive_cols, spec=spec, tf=tf)),
        (spec.finite_history, partial(_windowed_cols, spec=spec, tf=tf)),
    ]
    for htf in spec.higher_timeframes:
        out.append((spec.higher_bars_of(tf, htf), partial(_higher_cols, spec=spec, tf=tf, htf=htf)))
    return out


def compute(
    candles: OHLCV, spec: FeatureSpec | None = None, *, timeframe_ms: int | None = None
) -> FeatureMatrix:
    """Feature rows for every candle (see the module docstring); `timeframe_ms` defaults to the
    smallest step between candles."""
    spec = spec or FeatureSpec()
    tf = timeframe_ms if timeframe_ms is not None else _infer_tf(candles)
    cols: Columns = {}
    for _bars, build in _groups(spec, tf):
        cols.update(build(candles))
    values = np.empty((len(candles), len(spec.names)), dtype=np.float64)
    for j, name in enumerate(spec.names):
        values[:, j] = cols[name]
    values[~np.isfinite(values)] = np.nan  # inf from zero volume or zero ranges: "not defined"
    return FeatureMatrix(candles.ts, values, spec.names)


def compute_last(
    candles: OHLCV, spec: FeatureSpec | None = None, *, timeframe_ms: int | None = None
) -> FloatArray:
    """The newest candle's feature row (the live path): `_row_kernel.last_row`, the same indicator
    kernels and formulas as `compute` over only the trailing bars that decide the newest row, in
    one compiled call."""
    spec = spec or FeatureSpec()
    n = len(candles)
    tf = timeframe_ms if timeframe_ms is not None else _infer_tf(candles.slice(max(0, n - 64)))
    if n == 0:
        raise DataError("no candles to compute features from")
    window, ints, n_out = _row_params(spec, tf)
    w = candles.slice(max(0, n - window), n)
    out = np.empty(n_out)
    _row_kernel().last_row(
        np.ascontiguousarray(w.ts),
        *(np.ascontiguousarray(a) for a in (w.open, w.high, w.low, w.close, w.volume)),
        tf,
        *ints,
        out,
    )
    return out


@lru_cache(maxsize=64)
def _row_params(spec: FeatureSpec, tf: int) -> tuple[int, tuple[Any, ...], int]:
    """(window, the kernel's spec arguments, row length), once per spec and timeframe."""
    args = (
        np.asarray(spec.return_bars, dtype=np.int64),
        np.asarray([timeframe_to_ms(h) for h in spec.higher_timeframes], dtype=np.int64),
        np.asarray([spec.higher_bars_of(tf, h) for h in spec.higher_timeframes], dtype=np.int64),
        np.asarray(spec.higher_return_bars, dtype=np.int64),
        spec.period,
        spec.slow_period,
        spec.vol_window,
        spec.rank_window,
        _BB_CCI,
        spec.recursive_history,
        spec.finite_history,
    )
    for a in args[:4]:
        a.flags.writeable = False  # shared between calls
    return spec.window(tf), args, len(spec.names)


def prepare_live() -> None:
    """Compile the live-row kernel now (a few seconds once per process), not on the first decision."""
    ts = np.arange(3, dtype=np.int64) * 300_000
    one = np.ones(3)
    compute_last(OHLCV.from_arrays(ts, one, one, one, one, one), timeframe_ms=300_000)


def _row_kernel() -> ModuleType:
    """The compiled row kernel module, imported (numba) and prepared on first use only."""
    global _ROW
    if _ROW is None:
        from aitrader.ml import _row_kernel as rk

        rk.prepare()
        _ROW = rk
    return _ROW


_ROW: ModuleType | None = None


def _infer_tf(candles: OHLCV) -> int:
    from aitrader.strategies.timeframes import infer_timeframe_ms

    return infer_timeframe_ms(candles.ts)
