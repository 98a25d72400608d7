"""The live gate's candle ring holds exactly the newest `size` real candles, through compactions,
repeats and out-of-order candles, and the gate's probability on it equals the vectorised one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ml_helpers import TF_MS, Env

from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.ml.gate import MLGate
from aitrader.ml.live import CandleWindow
from aitrader.ml.registry import ModelRegistry

SAMPLE = Path(__file__).resolve().parents[2] / "src/aitrader/sample_data/ohlcv"


def test_ring_is_the_trailing_slice() -> None:
    c = read_ohlcv_csv(SAMPLE / "bittrex_ADA_BTC-5m.csv")
    w = CandleWindow(97)
    assert len(w) == 0 and w.last_ts is None
    for i in range(700):  # 700 > several times 2 x 97: compacts repeatedly
        w.append(c.candle(i))
        if i % 5 == 0:
            w.append(c.candle(i))  # a repeat (reconnect replay) is ignored
            w.append(c.candle(max(0, i - 3)))  # so is an older candle
        v, want = w.view(), c.slice(max(0, i + 1 - 97), i + 1)
        assert len(v) == len(w) == len(want)
        for col in ("ts", "open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(getattr(v, col), getattr(want, col))
    with pytest.raises(ValueError):
        CandleWindow(0)


def test_gate_on_the_ring_equals_vectorised(registry: ModelRegistry, ml_env: Env) -> None:
    gate = MLGate(registry, threshold=0.5, timeframe_ms=TF_MS)
    assert gate.load() and gate.compiled
    c = ml_env.candles["ETC/BTC"]
    p_all, _ = gate.probabilities(c)
    w = CandleWindow(1100)
    for i in range(len(c)):
        w.append(c.candle(i))
        if i >= 1100 and i % 97 == 0:
            assert gate.probability(w.view())[0] == pytest.approx(p_all[i], abs=1e-12)
