"""Kernels combining several inputs: CCI, MFI, OBV, session VWAP.

See the package docstring for the shared conventions.
"""

from __future__ import annotations

import numpy as np

from aitrader.core.candles import FloatArray, IntArray
from aitrader.indicators._jit import kernel

_ILL = 1e-13
_DEAD_ZONE = 1e-14


# Deliberately a local copy in each kernel module: numba's on-disk cache does not notice edits to
# jitted functions imported from *another* file (numba#1833), so no kernel module calls into another.
@kernel
def nan_head(out: FloatArray, k: int) -> None:
    """Set the first min(k, len(out)) values to NaN (the warm-up)."""
    out[: max(0, min(k, len(out)))] = np.nan


@kernel
def resum_every(p: int) -> int:
    return max(256, 8 * p)


@kernel
def _sum4(x: FloatArray, lo: int, hi: int, center: float, absolute: bool) -> float:
    """sum(x[lo:hi] - center) (or of its abs) with 4 accumulators, so the adds overlap."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    k = lo
    if absolute:
        while k + 4 <= hi:
            a0 += abs(x[k] - center)
            a1 += abs(x[k + 1] - center)
            a2 += abs(x[k + 2] - center)
            a3 += abs(x[k + 3] - center)
            k += 4
        while k < hi:
            a0 += abs(x[k] - center)
            k += 1
    else:
        while k + 4 <= hi:
            a0 += x[k] - center
            a1 += x[k + 1] - center
            a2 += x[k + 2] - center
            a3 += x[k + 3] - center
            k += 4
        while k < hi:
            a0 += x[k] - center
            k += 1
    return (a0 + a1) + (a2 + a3)


@kernel
def cci(h: FloatArray, lo: FloatArray, c: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """(tp - mean) / (0.015 * mean |tp - mean|) per window, both sums taken directly over a ring of
    the last p typical prices (as TA-Lib does)."""
    n = len(h)
    nan_head(out, s + p - 1)
    if n - s < p:
        return
    ring = np.empty(p)
    slot = 0
    for i in range(s, n):
        last = (h[i] + lo[i] + c[i]) / 3.0
        ring[slot] = last
        slot = slot + 1 if slot + 1 < p else 0
        if i < s + p - 1:
            continue
        mean = _sum4(ring, 0, p, 0.0, False) / p
        md = _sum4(ring, 0, p, mean, True) / p
        num = last - mean
        if num != num:
            r = num
        elif abs(num) <= _ILL * abs(mean) or md == 0.0:
            r = 0.0  # spread at the rounding level of the prices: pure noise
        else:
            r = num / (0.015 * md)
        out[i] = r


@kernel
def mfi(h: FloatArray, lo: FloatArray, c: FloatArray, v: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """Running positive/negative money-flow sums over a ring of the last p contributions.

    A sum with no nonzero contribution in its window is exactly 0 (counted), and the sums are
    re-added from the ring periodically and after a NaN left them.
    """
    n = len(h)
    nan_head(out, s + p)
    if n - s < p + 1:
        return
    rp = np.zeros(p)
    rn = np.zeros(p)
    cp = 0
    cn = 0
    ps = 0.0
    ns = 0.0
    every = resum_every(p)
    left = every
    slot = 0
    prev = (h[s] + lo[s] + c[s]) / 3.0
    for i in range(s + 1, n):
        tp = (h[i] + lo[i] + c[i]) / 3.0
        d = tp - prev
        mf = tp * v[i]
        moved = abs(d) > _DEAD_ZONE * (abs(tp) + abs(prev))
        prev = tp
        pc = mf if (moved and d > 0.0) else 0.0
        nc = mf if (moved and d < 0.0) else 0.0
        op = rp[slot]
        on = rn[slot]
        cp += (pc != 0.0) - (op != 0.0)
        cn += (nc != 0.0) - (on != 0.0)
        rp[slot] = pc
        rn[slot] = nc
        slot = slot + 1 if slot + 1 < p else 0
        left -= 1
        if left <= 0 or ps != ps or ns != ns:
            ps = 0.0
            ns = 0.0
            for k in range(p):
                ps += rp[k]
                ns += rn[k]
            left = every
        else:
            ps += pc - op
            ns += nc - on
        if i < s + p:
            continue
        pos = ps if cp > 0 else 0.0
        neg = ns if cn > 0 else 0.0
        tot = pos + neg
        out[i] = 100.0 * pos / tot if tot != 0.0 else (0.0 if tot == tot else tot)


@kernel
def obv(c: FloatArray, v: FloatArray, s: int, out: FloatArray) -> None:
    """Cumulative signed volume from v[s] (sign of the close change; NaN change -> NaN onwards)."""
    n = len(c)
    nan_head(out, s)
    if s >= n:
        return
    acc = v[s]
    out[s] = acc
    for i in range(s + 1, n):
        d = c[i] - c[i - 1]
        sgn = 1.0 if d > 0.0 else (-1.0 if d < 0.0 else (0.0 if d == 0.0 else d))
        acc += sgn * v[i]
        out[i] = acc


@kernel
def vwap(
    ts: IntArray,
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    v: FloatArray,
    s: int,
    anchor: int,
    out: FloatArray,
) -> None:
    """Per-session cumulative sum(tp*v)/sum(v), sessions = ts // anchor; NaN while no volume."""
    n = len(h)
    nan_head(out, s)
    num = 0.0
    den = 0.0
    sess = 0
    for i in range(s, n):
        si = ts[i] // anchor
        if i == s or si != sess:
            sess = si
            num = 0.0
            den = 0.0
        num += (h[i] + lo[i] + c[i]) / 3.0 * v[i]
        den += v[i]
        out[i] = num / den if den > 0.0 else np.nan
