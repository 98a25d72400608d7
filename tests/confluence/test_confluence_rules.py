"""The confluence rule, checked against independent TA-Lib computations on real BTC 5m candles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
import talib

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence
from aitrader.confluence.regime import RANGING, TRENDING
from aitrader.core.candles import OHLCV
from aitrader.strategies import Signals
from aitrader.strategies.builtin.ema_cross import EmaCross
from aitrader.strategies.builtin.mean_reversion import MeanReversion
from aitrader.strategies.timeframes import resample


class NeutralCross(EmaCross):
    name = "neutral_cross"
    style = "neutral"


class ContraCross(NeutralCross):
    """The exact opposite of NeutralCross: together they must cancel."""

    name = "contra_cross"

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        s = super().compute(candles, informative)
        return Signals(-s.direction, s.strength, s.stop, s.take)


def test_regime_follows_adx(btc5m: OHLCV) -> None:
    frame = Confluence(ConfluenceConfig(), [(EmaCross(), 1.0)]).evaluate("BTC/USDT:USDT", btc5m)
    adx = talib.ADX(btc5m.high, btc5m.low, btc5m.close, 14)
    ok = ~np.isnan(adx)
    np.testing.assert_allclose(frame.regime.adx[ok], adx[ok], rtol=1e-9)
    assert np.all(frame.regime.trend[ok & (adx >= 25)] == TRENDING)
    assert np.all(frame.regime.trend[ok & (adx < 25)] == RANGING)
    assert 0.03 < frame.regime.volatile.mean() < 0.3  # top-decile ATR, clustered


def test_single_trend_follower_confidence_is_its_regime_weight(btc5m: OHLCV) -> None:
    frame = Confluence(ConfluenceConfig(min_confidence=0.5), [(EmaCross(), 2.0)]).evaluate("X/Y", btc5m)
    events = EmaCross().compute(btc5m).direction
    fired = events != 0
    mult = frame.regime.multiplier("trend")
    np.testing.assert_allclose(frame.confidence[fired], np.minimum(mult[fired], 1.0))
    assert set(np.round(mult[fired], 3).tolist()) <= {1.25, 0.75, 1.0, 0.45, 0.6}
    atr_ok = ~np.isnan(talib.ATR(btc5m.high, btc5m.low, btc5m.close, 14))
    expected = np.where(fired & (np.minimum(mult, 1) >= 0.5) & atr_ok, events, 0)
    np.testing.assert_array_equal(frame.direction, expected)
    assert 0 < np.count_nonzero(frame.direction) < np.count_nonzero(events)  # ranging+volatile dropped


def test_atr_levels_without_hints(btc5m: OHLCV) -> None:
    cfg = ConfluenceConfig(stop_atr=1.5, take_atr=4.0, atr_period=10)
    frame = Confluence(cfg, [(EmaCross(), 1.0)]).evaluate("X/Y", btc5m)
    a = talib.ATR(btc5m.high, btc5m.low, btc5m.close, 10)
    d = frame.direction.astype(float)
    on = d != 0
    np.testing.assert_allclose(frame.stop[on], (btc5m.close - d * 1.5 * a)[on], rtol=1e-9)
    np.testing.assert_allclose(frame.take[on], (btc5m.close + d * 4.0 * a)[on], rtol=1e-9)
    assert np.isnan(frame.stop[~on]).all()


def test_tighter_hint_replaces_atr_take(btc5m: OHLCV) -> None:
    mr = MeanReversion()
    frame = Confluence(ConfluenceConfig(take_atr=5.0), [(mr, 1.0)]).evaluate("X/Y", btc5m)
    sig = mr.compute(btc5m)
    a = talib.ATR(btc5m.high, btc5m.low, btc5m.close, 14)
    c = btc5m.close
    longs = frame.direction == 1
    assert longs.sum() > 10
    atr_take = c + 5.0 * a
    expected = np.where(sig.take < atr_take, sig.take, atr_take)  # middle band is above close for longs
    np.testing.assert_allclose(frame.take[longs], expected[longs], rtol=1e-9)
    used = longs & (sig.take < atr_take)
    assert used.any() and np.all(frame.take_from[used] == 0)
    reasons = frame.decision_at(int(np.flatnonzero(used)[0])).reasons
    assert any("tighter hint of mean_reversion" in r for r in reasons)


def test_opposite_votes_cancel(btc5m: OHLCV) -> None:
    frame = Confluence(ConfluenceConfig(), [(NeutralCross(), 1.0), (ContraCross(), 1.0)]).evaluate(
        "X/Y", btc5m
    )
    assert not frame.direction.any()
    i = int(np.flatnonzero(NeutralCross().compute(btc5m).direction)[5])
    assert "no decision: strategies cancel out" in frame.decision_at(i).reasons


def test_higher_timeframe_confirmation_uses_closed_candles(btc5m: OHLCV) -> None:
    cfg = ConfluenceConfig(min_confidence=0.0)
    conf = Confluence(cfg, [(NeutralCross(), 1.0)])
    h = resample(btc5m, "1h")
    plain = conf.evaluate("X/Y", btc5m)
    mtf = conf.evaluate("X/Y", btc5m, h, "1h")
    h_ema = talib.EMA(h.close, 21)
    checked = 0
    for i in np.flatnonzero(plain.direction):
        closed = np.flatnonzero(h.ts + 3_600_000 <= btc5m.ts[i] + 300_000)
        if len(closed) == 0 or np.isnan(h_ema[closed[-1]]):
            assert mtf.confidence[i] == plain.confidence[i]
            continue
        j = closed[-1]
        agree = np.sign(h.close[j] - h_ema[j]) == plain.direction[i]
        expected = min(plain.confidence[i] * (1.15 if agree else 0.5), 1.0)
        assert mtf.confidence[i] == pytest.approx(expected, rel=1e-12)
        checked += 1
    assert checked > 100
    i = int(np.flatnonzero(mtf.direction)[-1])
    assert any(
        r.startswith("1h trend") and ("confirms" in r or "disagrees" in r) for r in mtf.decision_at(i).reasons
    )


def test_reasons_read_like_thoughts(btc5m: OHLCV) -> None:
    frame = Confluence(ConfluenceConfig(), [(EmaCross(), 1.0)]).evaluate("BTC/USDT:USDT", btc5m)
    i = int(np.flatnonzero((frame.direction == 1) & (frame.regime.trend == TRENDING))[0])
    d = frame.decision_at(i)
    assert d.direction == 1 and d.stop is not None and d.stop < d.price < (d.take or 0)
    assert d.reasons[0].startswith("ema_cross: fast EMA(12) crossed above slow EMA(26)")
    assert "weight 1.25" in d.reasons[0]
    assert d.reasons[1].startswith("regime trending (ADX ")
    assert d.reasons[-1].startswith("long with confidence")
    assert d.strategy_votes == (("ema_cross", 1, 1.25),)
    assert frame[-1] == frame.decision_at(len(frame) - 1)


class Sleepy(NeutralCross):
    name = "sleepy_cross"

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        import time

        time.sleep(0.03)
        return super().compute(candles, informative)


def test_over_budget_strategy_is_dropped_and_said(btc5m: OHLCV) -> None:
    conf = Confluence(ConfluenceConfig(), [(EmaCross(), 1.0), (Sleepy(), 5.0)], budget_ms=15)
    frame = conf.evaluate("X/Y", btc5m)
    alone = Confluence(ConfluenceConfig(), [(EmaCross(), 1.0)]).evaluate("X/Y", btc5m)
    np.testing.assert_array_equal(frame.direction, alone.direction)
    assert frame.votes[1].timed_out
    i = int(np.flatnonzero(frame.direction)[0])
    assert "sleepy_cross: timed out, signals dropped" in frame.decision_at(i).reasons
