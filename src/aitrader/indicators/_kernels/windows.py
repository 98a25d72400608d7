"""Sliding-window kernels: means, weighted means, standard deviation/bands, extremes, ranks, stochastic.

See the package docstring for the shared conventions.
"""

from __future__ import annotations

import math

import numpy as np

from aitrader.core.candles import FloatArray
from aitrader.indicators._jit import kernel

_EPS = 2.220446049250313e-16
# A running variance is trusted only while its rounding-error bound is below 1/_TRUST of it;
# otherwise the window is recomputed exactly (and the sums re-anchored at its mean).
_TRUST = 1e9


@kernel
def nan_head(out: FloatArray, k: int) -> None:
    """Set the first min(k, len(out)) values to NaN (the warm-up)."""
    out[: max(0, min(k, len(out)))] = np.nan


@kernel
def first_valid(x: FloatArray) -> int:
    """First index of a non-NaN value (len(x) if there is none)."""
    for i in range(len(x)):
        if x[i] == x[i]:
            return i
    return len(x)


@kernel
def resum_every(p: int) -> int:
    return max(256, 8 * p)


@kernel
def roll_mean_into(x: FloatArray, p: int, dst: FloatArray) -> None:
    """dst[j] = mean(x[j:j+p]) for the len(x)-p+1 full windows."""
    every = resum_every(p)
    left = 0
    s = 0.0
    for j in range(len(x) - p + 1):
        left -= 1
        if left <= 0 or s != s:
            s = 0.0
            for k in range(j, j + p):
                s += x[k]
            left = every
        else:
            s += x[j + p - 1] - x[j - 1]
        dst[j] = s / p


@kernel
def sma(a: FloatArray, s: int, p: int, out: FloatArray) -> None:
    nan_head(out, s + p - 1)
    if len(a) - s >= p:
        roll_mean_into(a[s:], p, out[s + p - 1 :])


@kernel
def wma(a: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """Weights 1..p: T' = T - S + p*x_new, S' = S + x_new - x_old (TA-Lib's update), re-summed."""
    nan_head(out, s + p - 1)
    x = a[s:]
    o = out[s + p - 1 :]
    div = p * (p + 1) / 2.0
    every = resum_every(p)
    left = 0
    sm = 0.0
    t = 0.0
    for j in range(len(x) - p + 1):
        left -= 1
        if left <= 0 or t != t:
            sm = 0.0
            t = 0.0
            for k in range(p):
                sm += x[j + k]
                t += (k + 1) * x[j + k]
            left = every
        else:
            xin = x[j + p - 1]
            t += p * xin - sm
            sm += xin - x[j - 1]
        o[j] = t / div


@kernel
def _anchor(x: FloatArray, j: int, p: int) -> tuple[float, float, float, float, float]:
    """Exact sums of window j around its own mean: (ref, s1, s2, err1, err2) — corrected two-pass."""
    t = 0.0
    for k in range(j, j + p):
        t += x[k]
    ref = t / p
    s1 = 0.0
    s2 = 0.0
    a1 = 0.0
    for k in range(j, j + p):
        d = x[k] - ref
        s1 += d
        s2 += d * d
        a1 += abs(d)
    return ref, s1, s2, (p + 1) * a1, (p + 2) * s2


@kernel
def std_bands(
    a: FloatArray, s: int, p: int, ddof: int, nb: float, o1: FloatArray, o2: FloatArray, o3: FloatArray
) -> None:
    """Rolling std into o1 (o2, o3 empty) or Bollinger upper, middle, lower into o1, o2, o3.

    Sums of d = x - ref and d^2 slide in O(1); `ref` is the mean of the last window computed
    exactly, so the sums stay small and the variance s2 - s1^2/p does not cancel. Alongside, a
    first-order bound on their accumulated rounding error is kept; a window whose variance is
    not > _TRUST times that bound (nearly flat prices after a move, a NaN) is recomputed exactly,
    which re-anchors the sums. Windows of identical values get exactly 0 (tracked with the index
    of the last change, not from the sums, whose residue sqrt would turn into a visible std).
    """
    bands = len(o2) > 0
    nan_head(o1, s + p - 1)
    nan_head(o2, s + p - 1)
    nan_head(o3, s + p - 1)
    if len(a) - s < p:
        return
    x = a[s:]
    last_change = 0
    for i in range(1, p):
        if x[i] != x[i - 1]:
            last_change = i
    inv_p = 1.0 / p
    inv_dof = 1.0 / (p - ddof)
    ref, s1, s2, e1, e2 = _anchor(x, 0, p)
    for j in range(len(x) - p + 1):
        i = j + p - 1
        if j > 0:
            if x[i] != x[i - 1]:
                last_change = i
            din = x[i] - ref
            dout = x[j - 1] - ref
            s1 += din - dout
            s2 += din * din - dout * dout
            e1 += 2.0 * (abs(din) + abs(dout)) + abs(s1)
            e2 += 4.0 * (din * din + dout * dout) + abs(s2)
        if last_change <= j:  # flat window
            mean = x[i]
            sd = 0.0
        else:
            var = s2 - s1 * s1 * inv_p
            bound = _EPS * (e2 + 2.0 * abs(s1) * e1 * inv_p + 2.0 * abs(s2))
            if not var > _TRUST * bound:
                ref, s1, s2, e1, e2 = _anchor(x, j, p)
                var = s2 - s1 * s1 * inv_p
            mean = ref + s1 * inv_p
            sd = math.sqrt(max(var, 0.0) * inv_dof) if var == var else var
        if bands:
            o1[i + s] = mean + nb * sd
            o2[i + s] = mean
            o3[i + s] = mean - nb * sd
        else:
            o1[i + s] = sd


@kernel
def _hi(v: float, m: float) -> float:
    """max(v, m), NaN if either is NaN; written as a select so the loops stay branch-free."""
    return v if (v >= m) | (v != v) else m


@kernel
def _lo(v: float, m: float) -> float:
    return v if (v <= m) | (v != v) else m


@kernel
def roll_extreme_into(x: FloatArray, p: int, is_max: bool, dst: FloatArray) -> None:
    """dst[j] = max (or min) of x[j:j+p]; NaN for windows holding a NaN.

    van Herk/Gil-Werman: cut x into blocks of p; a window is a suffix of one block plus a prefix
    of the next, so its extreme is the extreme of a block-suffix extreme (one backward pass per
    block into a p-sized buffer) and a running prefix extreme. O(1) per value whatever the data
    (a monotonic deque is too, but branches on every value: ~3x slower here on a random walk).
    """
    n = len(x)
    if n < p:
        return
    suf = np.empty(p)
    for b in range(0, n - p + 1, p):  # block [b, b+p) and the windows ending in the next block
        m = x[b + p - 1]
        suf[p - 1] = m
        for t in range(p - 2, -1, -1):
            m = _hi(x[b + t], m) if is_max else _lo(x[b + t], m)
            suf[t] = m
        dst[b] = suf[0]  # the window that is exactly this block
        pm = -np.inf if is_max else np.inf  # running extreme of the next block's prefix
        for t in range(min(p - 1, n - b - p)):  # windows starting at b+t+1, ending at b+p+t
            v = x[b + p + t]
            pm = _hi(v, pm) if is_max else _lo(v, pm)
            dst[b + t + 1] = _hi(suf[t + 1], pm) if is_max else _lo(suf[t + 1], pm)


@kernel
def donchian(
    h: FloatArray, lo: FloatArray, s: int, p: int, up: FloatArray, mid: FloatArray, dn: FloatArray
) -> None:
    n = len(h)
    nan_head(up, s + p - 1)
    nan_head(mid, s + p - 1)
    nan_head(dn, s + p - 1)
    if n - s < p:
        return
    # roll_extreme_into for both sides at once, writing all three outputs in the same pass
    x = h[s:]
    y = lo[s:]
    m = n - s
    off = s + p - 1  # output index of window 0
    shi = np.empty(p)
    slo = np.empty(p)
    for b in range(0, m - p + 1, p):
        mh = x[b + p - 1]
        ml = y[b + p - 1]
        shi[p - 1] = mh
        slo[p - 1] = ml
        for t in range(p - 2, -1, -1):
            mh = _hi(x[b + t], mh)
            ml = _lo(y[b + t], ml)
            shi[t] = mh
            slo[t] = ml
        up[off + b] = mh
        dn[off + b] = ml
        mid[off + b] = (mh + ml) / 2.0
        ph = -np.inf
        pl = np.inf
        for t in range(min(p - 1, m - b - p)):
            ph = _hi(x[b + p + t], ph)
            pl = _lo(y[b + p + t], pl)
            u = _hi(shi[t + 1], ph)
            d = _lo(slo[t + 1], pl)
            k = off + b + t + 1
            up[k] = u
            dn[k] = d
            mid[k] = (u + d) / 2.0


@kernel
def percentile_rank(a: FloatArray, s: int, w: int, out: FloatArray) -> None:
    """(#earlier below + 0.5 * #earlier equal) / (w-1) over the w-1 earlier values of each window.

    The inner count indexes a view of the window with an unsigned index: numba then drops its
    negative-index wraparound branch and LLVM vectorises the comparisons (~4x faster at w=200).
    """
    n = len(a)
    nan_head(out, s + w - 1)
    m = w - 1
    for i in range(s + w - 1, n):
        last = a[i]
        if last != last:
            out[i] = np.nan
            continue
        win = a[i - m : i]
        below = np.int64(0)
        equal = np.int64(0)
        for j in range(m):
            x = win[np.uint64(j)]
            below += np.int64(x < last)
            equal += np.int64(x == last)
        out[i] = (below + 0.5 * equal) / m


@kernel
def stoch(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    s: int,
    fk: int,
    sk: int,
    sd: int,
    ko: FloatArray,
    do: FloatArray,
    hh: FloatArray,
    ll: FloatArray,
) -> None:
    """Raw %K over fk bars, slow %K = SMA(raw, sk), %D = SMA(slow %K, sd); both from s+fk+sk+sd-3.

    hh, ll: scratch of length n-s-fk+1 (when that is > 0) for the rolling high/low and raw %K.
    """
    n = len(h)
    start = s + fk + sk + sd - 3
    nan_head(ko, start)
    nan_head(do, start)
    if n - s < fk + sk + sd - 2:
        return
    m = n - s - fk + 1
    roll_extreme_into(h[s:], fk, True, hh)
    roll_extreme_into(lo[s:], fk, False, ll)
    off = s + fk - 1
    for j in range(m):
        rng = hh[j] - ll[j]
        hh[j] = (c[off + j] - ll[j]) / (rng / 100.0) if rng != 0.0 else 0.0
    k0 = off + sk - 1
    roll_mean_into(hh, sk, ko[k0:])
    roll_mean_into(ko[k0:], sd, do[start:])
    ko[k0:start] = np.nan
