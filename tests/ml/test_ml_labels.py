"""Label arithmetic on hand-built candles: entry at the next open, fees on both sides, the triple
barrier's order (a bar touching both barriers is a stop; the first barrier touched decides) and its
time barrier, and when each label becomes known."""

from __future__ import annotations

import numpy as np
import pytest

from aitrader.core.candles import OHLCV
from aitrader.ml.labels import LabelSpec, make_labels

N = 40
T = 20  # the bar whose label is checked (ATR(14) is defined and equal to 1.0 there)


def _flat(n: int = N) -> dict[str, np.ndarray]:
    """Price 100, every bar's range 99.5 .. 100.5: true range 1, so ATR = 1 once defined."""
    return {
        "open": np.full(n, 100.0),
        "high": np.full(n, 100.5),
        "low": np.full(n, 99.5),
        "close": np.full(n, 100.0),
    }


def _candles(b: dict[str, np.ndarray]) -> OHLCV:
    n = len(b["open"])
    return OHLCV.from_arrays(
        np.arange(n, dtype=np.int64) * 300_000, b["open"], b["high"], b["low"], b["close"], np.ones(n)
    )


def test_forward_label_is_net_of_fees_from_the_next_open() -> None:
    b = _flat()
    b["open"][T + 1] = 100.0  # the entry: where a market order placed at T's close fills
    b["close"][T] = 90.0  # the decision bar's own close is not the entry
    b["close"][T + 3] = 100.3  # +0.3 % gross, fees 2 x 0.1 %: a win
    b["close"][T + 4] = 100.1  # +0.1 % gross: positive, but a loss after fees
    spec = LabelSpec(kind="forward", horizon=3, fee=0.001)
    lab = make_labels(_candles(b), spec)
    assert lab.y[T] == 1.0 and lab.end[T] == T + 3
    assert lab.y[T + 1] == 0.0 and lab.end[T + 1] == T + 4
    assert lab.y[T - 10] == 0.0  # flat: 0 gross, fees make it a loss
    # the last `horizon` bars have no outcome within the data
    assert np.isnan(lab.y[N - 3 :]).all() and (lab.end[N - 3 :] == -1).all()
    assert not np.isnan(lab.y[: N - 3]).any()


def _barrier(
    spec: LabelSpec, bars: dict[int, tuple[float, float]], close_h: float = 100.0
) -> tuple[float, int]:
    """The label at T with (high, low) overrides for bars T + k; entry 100, ATR(T) 1."""
    b = _flat()
    for k, (hi, lo) in bars.items():
        b["high"][T + k], b["low"][T + k] = hi, lo
    b["close"][T + spec.horizon] = close_h
    lab = make_labels(_candles(b), spec)
    return float(lab.y[T]), int(lab.end[T])


TB = LabelSpec(kind="triple_barrier", horizon=5, fee=0.001, take_atr=3.0, stop_atr=2.0)  # take 103, stop 98


def test_triple_barrier_levels_are_entry_plus_minus_atr() -> None:
    assert _barrier(TB, {2: (103.0, 99.5)}) == (1.0, T + 2)  # touching the take is enough
    assert _barrier(TB, {2: (102.99, 99.5)}, close_h=99.0) == (0.0, T + 5)  # just short: time barrier
    assert _barrier(TB, {3: (100.5, 98.0)}) == (0.0, T + 3)  # touching the stop
    assert _barrier(TB, {3: (100.5, 98.01)}, close_h=100.5) == (1.0, T + 5)


def test_stop_before_take_in_one_bar_and_first_touch_decides() -> None:
    assert _barrier(TB, {2: (104.0, 97.0)}) == (0.0, T + 2)  # both in one bar: the stop (pessimistic)
    assert _barrier(TB, {1: (104.0, 99.5), 2: (100.5, 97.0)}) == (1.0, T + 1)  # take first
    assert _barrier(TB, {1: (100.5, 97.0), 2: (104.0, 99.5)}) == (0.0, T + 1)  # stop first


def test_take_that_does_not_beat_the_fees_is_a_loss() -> None:
    pricey = LabelSpec(kind="triple_barrier", horizon=5, fee=0.02, take_atr=3.0, stop_atr=2.0)
    assert _barrier(pricey, {2: (103.0, 99.5)}) == (0.0, T + 2)  # +3 % < 2 x 2 % fees


def test_time_barrier_uses_the_forward_rule_at_the_horizon() -> None:
    assert _barrier(TB, {}, close_h=100.5) == (1.0, T + 5)  # +0.5 % - 0.2 % fees
    assert _barrier(TB, {}, close_h=100.15) == (0.0, T + 5)  # +0.15 % < fees
    lab = make_labels(_candles(_flat()), TB)
    assert np.isnan(lab.y[:14]).all() and (lab.end[:14] == -1).all()  # no ATR yet: no label
    assert np.isnan(lab.y[N - 5 :]).all()


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        LabelSpec(horizon=0)
    with pytest.raises(ValueError, match="label kind"):
        LabelSpec(kind="vibes")  # type: ignore[arg-type]
