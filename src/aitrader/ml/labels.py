"""Labels: did a long entry at this bar win, net of fees? Forward return or triple barrier.

The entry is the NEXT bar's open, because that is where the engine's market order placed at this
bar's close fills. `fee` is charged on both sides.

- `forward`: win when close[t + horizon] / open[t + 1] - 1 - 2 fee > 0.
- `triple_barrier`: take = entry + take_atr x ATR(t), stop = entry - stop_atr x ATR(t) (the levels
  confluence gives a decision); bars t+1 .. t+horizon are scanned in order; a bar touching the stop
  is a loss even if it also touches the take (the simulated venue fills stops first, pessimistic);
  the take is a win when take / entry - 1 - 2 fee > 0; neither touched by the time barrier: the
  forward rule at t + horizon.

Each label also says when it became known (`end`, the bar index whose close decides it): walk-forward
splits purge training samples whose label is not known before the test fold starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from aitrader.core.candles import OHLCV, FloatArray, IntArray
from aitrader.indicators import atr

LabelKind = Literal["forward", "triple_barrier"]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    kind: LabelKind = "forward"
    horizon: int = 12
    fee: float = 0.0026
    take_atr: float = 3.0
    stop_atr: float = 2.0
    atr_period: int = 14

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError("label horizon must be >= 1 bar")
        if self.kind not in ("forward", "triple_barrier"):
            raise ValueError(f"unknown label kind {self.kind!r}: forward or triple_barrier")


@dataclass(frozen=True, slots=True)
class Labels:
    """y in {0, 1} as float, NaN where the outcome is not known within the data; end = deciding bar."""

    y: FloatArray
    end: IntArray


def make_labels(candles: OHLCV, spec: LabelSpec) -> Labels:
    n, h = len(candles), spec.horizon
    y = np.full(n, np.nan)
    end = np.full(n, -1, dtype=np.int64)
    m = n - h  # bars t < m have t + horizon inside the data
    if m <= 0:
        return Labels(y, end)
    entry = candles.open[1 : m + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        fwd = candles.close[h : m + h] / entry - 1.0 - 2.0 * spec.fee
    if spec.kind == "forward":
        y[:m] = (fwd > 0).astype(np.float64)
        end[:m] = np.arange(m) + h
        bad = ~np.isfinite(fwd)
    else:
        y[:m], end[:m] = _triple_barrier(candles, spec, entry, fwd, m)
        a = atr(candles.high, candles.low, candles.close, spec.atr_period)[:m]
        bad = ~np.isfinite(fwd) | ~np.isfinite(a)
    y[:m][bad] = np.nan
    end[:m][bad] = -1
    return Labels(y, end)


def _triple_barrier(
    candles: OHLCV, spec: LabelSpec, entry: FloatArray, fwd: FloatArray, m: int
) -> tuple[FloatArray, IntArray]:
    a = atr(candles.high, candles.low, candles.close, spec.atr_period)[:m]
    take = entry + spec.take_atr * a
    stop = entry - spec.stop_atr * a
    with np.errstate(divide="ignore", invalid="ignore"):
        take_wins = take / entry - 1.0 - 2.0 * spec.fee > 0
    y = (fwd > 0).astype(np.float64)
    end = np.arange(m, dtype=np.int64) + spec.horizon
    open_ = np.ones(m, dtype=np.bool_)  # no barrier touched yet
    idx = np.arange(m)
    for k in range(1, spec.horizon + 1):
        hi, lo = candles.high[idx + k], candles.low[idx + k]
        with np.errstate(invalid="ignore"):
            hit_stop = open_ & (lo <= stop)
            hit_take = open_ & ~hit_stop & (hi >= take)
        y[hit_stop] = 0.0
        y[hit_take] = take_wins[hit_take].astype(np.float64)
        end[hit_stop | hit_take] = idx[hit_stop | hit_take] + k
        open_ &= ~(hit_stop | hit_take)
    return y, end
