"""Time-ordered walk-forward folds with purge and embargo.

Samples may come from several pairs, so folds are cut on TIME, not on row numbers: the span from the
first sample's time to the last is divided into `n_folds + 1` equal blocks; fold k tests on block
k + 1 and trains on everything before it (an expanding window).

- purge: a training sample whose label became known at or after the test fold's start is dropped
  (its label overlaps the test period: training on it would peek at test prices); `purge_ms` widens
  that margin (labels known less than `purge_ms` before the start go too).
- embargo: training samples decided within `embargo_ms` before the test fold's start are dropped too,
  so serially correlated features right at the boundary do not carry test information back.
  (In a walk-forward nothing is trained on after the test fold, so that is the only side to guard.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import IntArray

IndexArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Fold:
    k: int
    train: IndexArray
    test: IndexArray
    start_ms: int  # test fold covers decision times start_ms <= ts < end_ms
    end_ms: int


def walk_forward(
    ts: IntArray,
    known_ms: IntArray,
    n_folds: int,
    embargo_ms: int = 0,
    min_train: int = 100,
    purge_ms: int = 0,
) -> list[Fold]:
    """Folds over samples decided at `ts` whose labels are known at `known_ms` (same length)."""
    if n_folds < 1:
        raise ValueError("n_folds must be >= 1")
    if len(ts) != len(known_ms):
        raise ValueError("ts and known_ms differ in length")
    if len(ts) == 0:
        return []
    first, last = int(ts.min()), int(ts.max()) + 1
    edges = first + (np.arange(n_folds + 2, dtype=np.int64) * (last - first)) // (n_folds + 1)
    folds = []
    for k in range(n_folds):
        start, end = int(edges[k + 1]), int(edges[k + 2])
        train = np.flatnonzero((known_ms < start - purge_ms) & (ts < start - embargo_ms))
        test = np.flatnonzero((ts >= start) & (ts < end))
        if len(train) >= min_train and len(test) > 0:
            folds.append(Fold(k, train, test, start, end))
    return folds
