"""Recursive kernels: EMA, MACD, RSI, true range, ATR, directional movement (+DI, -DI, ADX).

Wilder smoothing is written `a*prev + b*x` with a = (p-1)/p, b = 1/p (TA-Lib divides
`(prev*(p-1) + x)/p`, which puts a ~13-cycle division on the loop-carried chain; the results agree
to ~1e-15). Branches on the data are written as selects, since price moves are unpredictable. NaN
propagate like the former numpy versions (np.maximum-style max, NaN carried forward by the
recursion). See the package docstring for the shared conventions.
"""

from __future__ import annotations

import numpy as np

from aitrader.core.candles import FloatArray
from aitrader.indicators._jit import kernel


# Deliberately a local copy in each kernel module: numba's on-disk cache does not notice edits to
# jitted functions imported from *another* file (numba#1833), so no kernel module calls into another.
@kernel
def nan_head(out: FloatArray, k: int) -> None:
    """Set the first min(k, len(out)) values to NaN (the warm-up)."""
    out[: max(0, min(k, len(out)))] = np.nan


@kernel
def ema(a: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """k = 2/(p+1), seeded with the mean of the first p valid values (first output at s+p-1)."""
    n = len(a)
    nan_head(out, s + p - 1)
    if n - s < p:
        return
    k = 2.0 / (p + 1)
    k1 = 1.0 - k
    y = 0.0
    for i in range(s, s + p):
        y += a[i]
    y /= p
    out[s + p - 1] = y
    for i in range(s + p, n):
        y = k1 * y + k * a[i]
        out[i] = y


@kernel
def macd(
    a: FloatArray, s: int, f: int, sl: int, sg: int, line: FloatArray, sig: FloatArray, hist: FloatArray
) -> None:
    """Both EMAs seeded at bar sl-1 (fast with the mean of its last f values); the signal EMA is
    seeded with the mean of the first sg MACD values; outputs start at s+sl+sg-2."""
    n = len(a)
    first = s + sl - 1
    start = first + sg - 1
    nan_head(line, start)
    nan_head(sig, start)
    nan_head(hist, start)
    if start >= n:
        return
    kf = 2.0 / (f + 1)
    ks = 2.0 / (sl + 1)
    kg = 2.0 / (sg + 1)
    ef = 0.0
    for i in range(first - f + 1, first + 1):
        ef += a[i]
    ef /= f
    es = 0.0
    for i in range(s, first + 1):
        es += a[i]
    es /= sl
    lsum = 0.0
    y = 0.0
    for i in range(first, n):
        if i > first:
            ef = (1.0 - kf) * ef + kf * a[i]
            es = (1.0 - ks) * es + ks * a[i]
        v = ef - es
        if i < start:
            lsum += v
            continue
        y = (lsum + v) / sg if i == start else (1.0 - kg) * y + kg * v
        line[i] = v
        sig[i] = y
        hist[i] = v - y


@kernel
def rsi(a: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """Wilder averages of gains/losses seeded with their plain means; 0 when both are 0."""
    n = len(a)
    nan_head(out, s + p)
    if n - s < p + 1:
        return
    wa = (p - 1) / p
    wb = 1.0 / p
    g = 0.0
    lo = 0.0
    for i in range(s + 1, s + p + 1):
        d = a[i] - a[i - 1]
        g += _up(d)
        lo += _up(-d)
    g /= p
    lo /= p
    out[s + p] = _ratio(g, lo)
    for i in range(s + p + 1, n):
        d = a[i] - a[i - 1]
        g = wa * g + wb * _up(d)
        lo = wa * lo + wb * _up(-d)
        out[i] = _ratio(g, lo)


@kernel
def _up(d: float) -> float:
    """max(d, 0) with NaN propagating (np.maximum semantics), as a select."""
    return d if (d > 0.0) | (d != d) else 0.0


@kernel
def _ratio(g: float, lo: float) -> float:
    """100*g/(g+lo); 0 when the sum is 0 (TA-Lib), NaN when it is NaN."""
    tot = g + lo
    return 100.0 * g / tot if tot != 0.0 else (0.0 if tot == tot else tot)


@kernel
def _nanmax(x: float, y: float) -> float:
    """max that returns NaN if either is NaN (np.maximum semantics)."""
    return x if (x >= y) | (x != x) else y


@kernel
def tr_at(h: FloatArray, lo: FloatArray, c: FloatArray, i: int) -> float:
    """TA-Lib TRANGE of bar i (needs i >= 1)."""
    pc = c[i - 1]
    return _nanmax(_nanmax(h[i] - lo[i], abs(pc - h[i])), abs(pc - lo[i]))


@kernel
def true_range(h: FloatArray, lo: FloatArray, c: FloatArray, s: int, out: FloatArray) -> None:
    n = len(h)
    nan_head(out, s + 1)
    for i in range(s + 1, n):
        out[i] = tr_at(h, lo, c, i)


@kernel
def atr(h: FloatArray, lo: FloatArray, c: FloatArray, s: int, p: int, out: FloatArray) -> None:
    """Wilder average of TR seeded with the mean of TR over bars s+1..s+p (first output at s+p)."""
    n = len(h)
    nan_head(out, s + p)
    if n - s < p + 1:
        return
    y = 0.0
    for i in range(s + 1, s + p + 1):
        y += tr_at(h, lo, c, i)
    y /= p
    out[s + p] = y
    wa = (p - 1) / p
    wb = 1.0 / p
    for i in range(s + p + 1, n):
        y = wa * y + wb * tr_at(h, lo, c, i)
        out[i] = y


@kernel
def dmi(
    h: FloatArray,
    lo: FloatArray,
    c: FloatArray,
    s: int,
    p: int,
    pdi: FloatArray,
    mdi: FloatArray,
    adx: FloatArray,
) -> None:
    """+DI, -DI, ADX with TA-Lib's Wilder sums and ADX seeding; ADX holds on undefined DX.

    See `aitrader.indicators.trend` for the conventions; first DI at s+p, first ADX at s+2p-1.
    An output passed empty is not written (plus_di needs only +DI).
    """
    n = len(h)
    nan_head(pdi, s + p)
    nan_head(mdi, s + p)
    nan_head(adx, s + 2 * p - 1)
    want_p = len(pdi) > 0
    want_m = len(mdi) > 0
    want_adx = len(adx) > 0
    if n - s < p + 1:
        return
    sp = 0.0
    sm = 0.0
    st = 0.0
    dxsum = 0.0
    y = 0.0
    wk = 1.0 - 1.0 / p  # Wilder *sums*: s - s/p + x
    wa = (p - 1) / p
    wb = 1.0 / p
    for i in range(s + 1, n):
        up = h[i] - h[i - 1]
        down = lo[i - 1] - lo[i]
        pdm = up if (up > 0.0) & (up > down) else 0.0
        mdm = down if (down > 0.0) & (down > up) else 0.0
        tr = tr_at(h, lo, c, i)
        if i < s + p:  # bars 1..p-1: plain sums
            sp += pdm
            sm += mdm
            st += tr
            continue
        sp = wk * sp + pdm
        sm = wk * sm + mdm
        st = wk * st + tr
        scale = 100.0 / st if st != 0.0 else 0.0  # DI = 0 without range (NaN st stays NaN)
        pd = sp * scale
        md = sm * scale
        if want_p:
            pdi[i] = pd
        if want_m:
            mdi[i] = md
        if not want_adx:
            continue
        tot = pd + md
        ok = (st != 0.0) & (tot != 0.0)
        dx = 100.0 * abs(md - pd) / tot if ok else 0.0
        k = i - (s + p)
        if k < p:
            dxsum += dx
            if k == p - 1:
                y = dxsum / p
                adx[i] = y
        else:
            y = wa * y + wb * dx if ok else y
            adx[i] = y
