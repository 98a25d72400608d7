"""ema_cross is the reference: it must match a hand-written loop over TA-Lib EMAs exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.strategies.builtin.ema_cross import EmaCross


@pytest.mark.parametrize(("fast", "slow"), [(12, 26), (5, 50)])
def test_matches_hand_loop_on_real_data(btc5m: OHLCV, fast: int, slow: int) -> None:
    f, s = talib.EMA(btc5m.close, fast), talib.EMA(btc5m.close, slow)
    expected = np.zeros(len(btc5m), dtype=np.int8)
    for t in range(1, len(btc5m)):
        a0, b0, a1, b1 = f[t - 1], s[t - 1], f[t], s[t]
        if any(math.isnan(x) for x in (a0, b0, a1, b1)):
            continue
        if a0 <= b0 and a1 > b1:
            expected[t] = 1
        elif a0 >= b0 and a1 < b1:
            expected[t] = -1
    sig = EmaCross(fast=fast, slow=slow).compute(btc5m)
    assert (expected != 0).sum() > 50
    np.testing.assert_array_equal(sig.direction, expected)
    assert np.all(sig.strength[expected != 0] == 1.0)
    assert np.all(sig.strength[expected == 0] == 0.0)
    assert np.isnan(sig.stop).all() and np.isnan(sig.take).all()


def test_no_signal_during_warmup(btc5m: OHLCV) -> None:
    s = EmaCross()
    assert not s.compute(btc5m).direction[: s.warmup].any()


def test_signals_alternate(btc5m: OHLCV) -> None:
    d = EmaCross().compute(btc5m).direction
    events = d[d != 0]
    assert np.all(events[1:] != events[:-1])  # a cross up is always followed by a cross down


def test_fast_must_be_below_slow() -> None:
    with pytest.raises(StrategyError, match="fast"):
        EmaCross(fast=30, slow=20)
