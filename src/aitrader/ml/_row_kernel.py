"""numba kernel of `features.compute_last`: the newest feature row in one compiled call.

Why: the same row built from ~20 indicator calls costs ~0.9 ms of Python and numpy dispatch per
decision (measured), which a loaded 2-core host stretches past the 2 ms budget. Here every indicator
is the library's own compiled kernel (`aitrader.indicators._kernels`, called exactly as its public
wrapper calls it: same first-valid start, periods, scratch), run over the same trailing windows the
feature groups need, and only the formula layer of `features.compute` (returns, ratios, / 100) is
repeated. A division by zero gives NaN here where numpy gives +-inf; both end as NaN because the
row maps every non-finite value to NaN. Tested equal to `compute` at many ends of real series.

Kernel modules compile lazily on first use (`indicators._jit`); `prepare()` compiles them in before
this kernel is compiled, because numba resolves the indicator kernels when it compiles this one.
This module is NOT disk-cached: numba's cache does not notice when a called kernel in another file
changes, and a stale cached row would silently disagree with `compute`; it compiles once per process
(`MLGate` does it when a model is loaded, not on a decision).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import flows as _kf
from aitrader.indicators._kernels import recursive as _kr
from aitrader.indicators._kernels import windows as _kw

I64 = npt.NDArray[np.int64]
_DAY_MS = 24 * 3_600_000
F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    """numba.njit, compiled on first call, typed as the plain function (numba ships no types)."""
    return cast(F, numba.njit(nogil=True)(fn))


def prepare() -> None:
    """Materialise the indicator kernel modules this kernel calls (see the module docstring)."""
    from aitrader.indicators import cci, rsi, sma

    x = np.ones(4)
    rsi(x, 2), sma(x, 2), cci(x, x, x, 2)  # one call per kernel module: recursive, windows, flows


@kernel
def _div(a: float, b: float) -> float:
    """a / b with IEEE results for b == 0 (numba would raise; numpy gives +-inf or NaN)."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return np.nan
    return float(np.inf * np.sign(a) * np.copysign(1.0, b))


@kernel
def _fv(x: FloatArray) -> int:
    return int(_kw.first_valid(x))


@kernel
def _log_ret_last(c: FloatArray, k: int) -> float:
    n = len(c)
    return float(np.log(_div(c[n - 1], c[n - 1 - k]))) if n > k else np.nan


@kernel
def _higher(ts: I64, c: FloatArray, base_tf: int, step: int, k: int) -> float:
    """`features._higher_returns` at the last bar (bucket closes of existing buckets)."""
    n = len(ts)
    if n == 0:
        return np.nan
    limit = ts[n - 1] + base_tf  # a bucket is closed when its end <= the last bar's close
    closes = np.empty(n)
    m = 0
    for i in range(n):
        last_of_bucket = i == n - 1 or ts[i + 1] // step != ts[i] // step
        if last_of_bucket and (ts[i] // step + 1) * step <= limit:
            closes[m] = c[i]
            m += 1
    idx = m - 1
    if idx < k:
        return np.nan
    return float(np.log(_div(closes[idx], closes[idx - k])))


@kernel
def last_row(
    ts: I64,
    o: FloatArray,
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    v: FloatArray,
    base_tf: int,
    return_bars: I64,
    higher_steps: I64,
    higher_windows: I64,
    higher_k: I64,
    period: int,
    slow: int,
    vol_window: int,
    rank_window: int,
    bb_cci: int,
    n_rec: int,
    n_fin: int,
    out: FloatArray,
) -> None:
    """Fill `out` in `FeatureSpec.names` order; non-finite values become NaN."""
    n = len(c)
    j = 0
    # ---- windowed group, part 1: returns
    a = max(0, n - n_fin)
    fc, fh, fl, fv = c[a:], h[a:], lo[a:], v[a:]
    m = len(fc)
    for k in return_bars:
        out[j] = _log_ret_last(fc, k)
        j += 1
    # ---- higher timeframes
    for t in range(len(higher_steps)):
        b = max(0, n - higher_windows[t])
        for k in higher_k:
            out[j] = _higher(ts[b:], c[b:], base_tf, higher_steps[t], k)
            j += 1
    # ---- realised vol (windowed)
    lr = np.full(m, np.nan)
    for i in range(1, m):
        lr[i] = np.log(_div(fc[i], fc[i - 1]))
    buf = np.empty(m)
    _kw.std_bands(lr, _fv(lr), vol_window, 0, 0.0, buf, np.empty(0), np.empty(0))
    out[j] = buf[m - 1]
    j += 1
    # ---- recursive group
    r = max(0, n - n_rec)
    rc, rh, rl = c[r:], h[r:], lo[r:]
    q = len(rc)
    s1 = _fv(rc)
    s3 = max(_fv(rh), _fv(rl), s1)
    rb = np.empty(q)
    _kr.rsi(rc, s1, period, rb)
    rsi_v = rb[q - 1] / 100.0
    line, sig, hist = np.empty(q), np.empty(q), np.empty(q)
    _kr.macd(rc, s1, 12, 26, 9, line, sig, hist)
    macd_v = _div(hist[q - 1], rc[q - 1])
    # ---- windowed group, part 2: bands (before ATR in names order)
    s1f = _fv(fc)
    up, mid, dn = np.empty(m), np.empty(m), np.empty(m)
    _kw.std_bands(fc, s1f, bb_cci, 0, 2.0, up, mid, dn)
    out[j] = rsi_v
    out[j + 1] = macd_v
    out[j + 2] = _div(fc[m - 1] - dn[m - 1], up[m - 1] - dn[m - 1])
    out[j + 3] = _div(up[m - 1] - dn[m - 1], fc[m - 1])
    j += 4
    _kr.atr(rh, rl, rc, s3, period, rb)
    out[j] = _div(rb[q - 1], rc[q - 1])
    pdi, mdi = np.empty(q), np.empty(q)
    _kr.dmi(rh, rl, rc, s3, period, pdi, mdi, rb)
    out[j + 1] = rb[q - 1] / 100.0
    out[j + 2] = (pdi[q - 1] - mdi[q - 1]) / 100.0
    j += 3
    # ---- windowed group, part 3
    s3f = max(_fv(fh), _fv(fl), s1f)
    kk, dd = np.empty(m), np.empty(m)
    scratch = np.empty((2, max(m - s3f - 14 + 1, 0)))
    _kw.stoch(fh, fl, fc, s3f, 14, 3, 3, kk, dd, scratch[0], scratch[1])
    out[j] = kk[m - 1] / 100.0
    _kf.cci(fh, fl, fc, s3f, bb_cci, buf)
    out[j + 1] = buf[m - 1] / 100.0
    _kf.mfi(fh, fl, fc, fv, max(s3f, _fv(fv)), period, buf)
    out[j + 2] = buf[m - 1] / 100.0
    _kw.sma(fv, _fv(fv), vol_window, buf)
    out[j + 3] = _div(fv[m - 1], buf[m - 1])
    j += 4
    _kr.ema(rc, s1, slow, rb)
    out[j] = np.log(_div(rc[q - 1], rb[q - 1]))
    _kw.percentile_rank(fc, s1f, rank_window, buf)
    out[j + 1] = buf[m - 1]
    out[j + 2] = _div(fh[m - 1] - fl[m - 1], fc[m - 1])
    angle = 2.0 * np.pi * ((ts[n - 1] + base_tf) % _DAY_MS) / _DAY_MS
    out[j + 3] = np.sin(angle)
    out[j + 4] = np.cos(angle)
    for i in range(len(out)):
        if not np.isfinite(out[i]):
            out[i] = np.nan
