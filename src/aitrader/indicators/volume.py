"""Volume indicators: OBV, MFI, session-anchored VWAP.

Conventions:
- obv: TA-Lib OBV — starts at volume[0] on the first bar, then +volume on an up close,
  -volume on a down close, unchanged on an equal close.
- mfi: TA-Lib MFI — typical price (h+l+c)/3; raw money flow tp*volume counts as positive when tp
  rose versus the previous bar, negative when it fell, neither when equal — "equal" including a
  difference within 1e-14*(|tp|+|prev tp|), TA-Lib 0.8's dead zone for typical prices that differ
  only by the rounding of (h+l+c)/3; MFI = 100*pos/(pos+neg)
  over the last `period` bars (0 when both sums are 0); first value at index `period`. Windows with
  no up (down) bar get an exact 0 positive (negative) sum via integer counts, not a rounding residue.
- vwap: cumulative sum(tp*volume)/sum(volume) since the start of the bar's session, sessions being
  floor(ts/anchor_ms) in UTC (daily by default). NaN while the session has no volume yet.
  Cumulated per session in one compiled pass, so the error does not grow with history length.
Leading NaN are skipped (see `_util`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._kernels import flows as _kf
from aitrader.indicators._util import as_floats, check_period, first_valid
from aitrader.indicators.cache import cached


@cached
def obv(close: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """On-Balance Volume; defined from the first bar."""
    c, v = as_floats(close, volume)
    out = np.empty(len(c))
    _kf.obv(c, v, first_valid(c, v), out)
    return out


@cached
def mfi(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, volume: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Money Flow Index in [0, 100]; first value at index `period`."""
    h, lo, c, v = as_floats(high, low, close, volume)
    p = check_period(period)
    out = np.empty(len(h))
    _kf.mfi(h, lo, c, v, first_valid(h, lo, c, v), p, out)
    return out


@cached
def vwap(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    anchor_ms: int = 86_400_000,
) -> FloatArray:
    """Session-anchored VWAP of the typical price; resets when floor(ts/anchor_ms) changes."""
    t = np.ascontiguousarray(ts, dtype=np.int64)
    h, lo, c, v = as_floats(high, low, close, volume)
    anchor = check_period(anchor_ms, 1, "anchor_ms")
    if len(t) != len(h):
        raise ValueError("vwap: ts and prices have different lengths")
    if t.flags.writeable:  # one compiled variant (see `_util.as_float`)
        t = t.view()
        t.flags.writeable = False
    out = np.empty(len(h))
    _kf.vwap(t, h, lo, c, v, first_valid(h, lo, c, v), anchor, out)
    return out
