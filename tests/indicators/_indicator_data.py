"""Real candles and a tolerance check for the indicator tests (candles loaded once per session).

The files are chosen for the edge cases they carry: BTC 5m futures (large prices), Bittrex
ADA/BTC 5m (gaps, prices ~5e-5), Bittrex 1m (many flat candles, dead stretches), XRP 8h (short).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from aitrader.core.candles import OHLCV
from shared_data import SHARED

DATA = SHARED / "data/ohlcv"
FILES = [
    "binance_BTC_USDT_USDT-5m-futures.csv",
    "bittrex_ADA_BTC-5m.csv",
    "bittrex_UNITTEST_BTC-1m.csv",
    "binance_XRP_USDT_USDT-8h-futures.csv",
]


@cache
def load(name: str) -> OHLCV:
    d = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    return OHLCV.from_arrays(d[:, 0].astype(np.int64), d[:, 1], d[:, 2], d[:, 3], d[:, 4], d[:, 5])


def assert_close(ours: np.ndarray, ref: np.ndarray, floor: float, rtol: float = 1e-9) -> None:
    """Same NaN positions, and |ours - ref| <= rtol * max(|ref|, floor) everywhere else.

    `floor` is the absolute scale below which a value counts as "near 0" (e.g. 1 for 0..100
    oscillators, a fraction of the price for price-valued outputs such as MACD).
    """
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    assert np.array_equal(nan_o, nan_r), (
        f"NaN layout differs: ours {nan_o.sum()} NaN, ref {nan_r.sum()}, "
        f"first at {np.flatnonzero(nan_o != nan_r)[:5]}"
    )
    ok = ~nan_r
    err = np.abs(ours[ok] - ref[ok]) / np.maximum(np.abs(ref[ok]), floor)
    if err.size:
        worst = int(np.argmax(err))
        assert err[worst] <= rtol, f"rel err {err[worst]:.3g} at bar {np.flatnonzero(ok)[worst]}"
