"""Training samples from several pairs: features, labels and their times, stacked and time-sorted.

Every labelled candle after the feature warm-up is a sample ("would a long entry here have won?"),
not only the bars where confluence proposed an entry: those are too few to learn from, and the gate
is asked about an entry at a bar, whatever proposed it. Times are candle CLOSE times, when a decision
is made (`decided_ms`) and when its label is known (`known_ms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import OHLCV, FloatArray, IntArray
from aitrader.ml.features import FeatureSpec, compute
from aitrader.ml.labels import LabelSpec, make_labels


@dataclass(frozen=True, slots=True)
class Dataset:
    X: FloatArray
    y: npt.NDArray[np.int8]
    decided_ms: IntArray
    known_ms: IntArray
    pair: npt.NDArray[np.int16]  # index into `pairs`
    pairs: tuple[str, ...]
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    @property
    def start_ms(self) -> int:
        return int(self.decided_ms.min())

    @property
    def end_ms(self) -> int:
        return int(self.known_ms.max())


def build_dataset(
    candles: Mapping[str, OHLCV], timeframe_ms: int, features: FeatureSpec, labels: LabelSpec
) -> Dataset:
    """Samples of all pairs, sorted by decision time (ties by pair order)."""
    parts: list[tuple[FloatArray, FloatArray, IntArray, IntArray, int]] = []
    warmup = features.history // 2  # recursive indicators are settled well before their full history
    for p, (_pair, c) in enumerate(candles.items()):
        fm = compute(c, features, timeframe_ms=timeframe_ms)
        lab = make_labels(c, labels)
        ok = ~np.isnan(lab.y)
        ok[:warmup] = False
        idx = np.flatnonzero(ok)
        close = c.ts + timeframe_ms
        parts.append((fm.values[idx], lab.y[idx], close[idx], close[lab.end[idx]], p))
    if not parts or sum(len(x[1]) for x in parts) == 0:
        names = features.names
        return Dataset(
            np.empty((0, len(names))),
            np.empty(0, np.int8),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
            np.empty(0, np.int16),
            tuple(candles),
            names,
        )
    X = np.concatenate([x[0] for x in parts])
    y = np.concatenate([x[1] for x in parts]).astype(np.int8)
    decided = np.concatenate([x[2] for x in parts])
    known = np.concatenate([x[3] for x in parts])
    pair = np.concatenate([np.full(len(x[1]), x[4], dtype=np.int16) for x in parts])
    order = np.lexsort((pair, decided))
    return Dataset(
        np.ascontiguousarray(X[order]),
        y[order],
        decided[order],
        known[order],
        pair[order],
        tuple(candles),
        features.names,
    )
