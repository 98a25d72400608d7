"""numba kernel of `forest.CompiledForest`: walk every tree of a fitted gradient-boosted ensemble.

Kept in its own module because `indicators._jit.kernel` compiles all kernels of a module together on
first use (and caches the machine code on disk), so nothing else here should pay for numba.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray
from aitrader.indicators._jit import kernel

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@kernel
def forest_proba(
    X: FloatArray,
    mean: FloatArray,
    scale: FloatArray,
    feature: I64,
    threshold: FloatArray,
    missing_left: U8,
    left: I64,
    right: I64,
    is_leaf: U8,
    value: FloatArray,
    roots: I64,
    baseline: float,
    out: FloatArray,
) -> None:
    """out[r] = expit(baseline + sum of the leaf values row r reaches), scikit-learn's arithmetic.

    The row is standardised first exactly as StandardScaler.transform does ((x - mean) / scale, one
    rounding each); each node sends NaN to its learned side and x <= threshold left, as scikit-learn's
    `_predict_one_from_raw_data`; the raw score starts at the baseline and adds trees in fit order,
    as `_raw_predict`; the link is 1 / (1 + exp(-raw)) as scipy's expit.
    """
    n, m = X.shape
    xs = np.empty(m)
    for r in range(n):
        for j in range(m):
            xs[j] = (X[r, j] - mean[j]) / scale[j]
        raw = baseline
        for t in range(roots.shape[0]):
            i = roots[t]
            while not is_leaf[i]:
                v = xs[feature[i]]
                if np.isnan(v):
                    i = left[i] if missing_left[i] else right[i]
                elif v <= threshold[i]:
                    i = left[i]
                else:
                    i = right[i]
            raw += value[i]
        out[r] = 1.0 / (1.0 + np.exp(-raw))
