"""Indicators TA-Lib lacks (VWAP, Donchian, Keltner, percentile rank) against direct definitions
computed the slow, obvious way on real candles, plus input validation and edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from _indicator_data import assert_close, load

import aitrader.indicators as ind
from aitrader.core.candles import OHLCV


def test_vwap_matches_per_session_loop(candles: OHLCV) -> None:
    for anchor in (86_400_000, 3_600_000):
        ours = ind.vwap(candles.ts, candles.high, candles.low, candles.close, candles.volume, anchor)
        tp = (candles.high + candles.low + candles.close) / 3.0
        ref = np.full(len(tp), np.nan)
        sess = candles.ts // anchor
        for s in np.unique(sess):
            m = np.flatnonzero(sess == s)
            pv = np.cumsum(tp[m] * candles.volume[m])
            vv = np.cumsum(candles.volume[m])
            with np.errstate(invalid="ignore", divide="ignore"):
                ref[m] = np.where(vv > 0, pv / vv, np.nan)
        assert_close(ours, ref, float(np.median(candles.close)), rtol=1e-11)
        # it really resets: the first bar of each session is that bar's typical price
        first = np.flatnonzero(np.r_[True, sess[1:] != sess[:-1]] & (candles.volume > 0))
        np.testing.assert_allclose(ours[first], tp[first], rtol=1e-14)


def test_donchian_and_keltner(candles: OHLCV) -> None:
    h, lo, c = candles.high, candles.low, candles.close
    up, mid, dn = ind.donchian(h, lo, 20)
    assert_close(up, talib.MAX(h, 20), 1.0, rtol=0)
    assert_close(dn, talib.MIN(lo, 20), 1.0, rtol=0)
    assert_close(mid, (talib.MAX(h, 20) + talib.MIN(lo, 20)) / 2, 1.0, rtol=0)
    ku, km, kd = ind.keltner(h, lo, c, 20, 1.5, 10)
    e, a = talib.EMA(c, 20), talib.ATR(h, lo, c, 10)
    px = float(np.median(c))
    assert_close(km, np.where(np.isnan(a), np.nan, e), px)
    assert_close(ku, e + 1.5 * a, px)
    assert_close(kd, e - 1.5 * a, px)


def test_percentile_rank_matches_definition() -> None:
    c = load("bittrex_UNITTEST_BTC-1m.csv")  # flat candles -> many ties
    a = ind.atr(c.high, c.low, c.close, 14)[:3000]
    w = 50
    ours = ind.percentile_rank(a, w)
    ref = np.full(len(a), np.nan)
    for t in range(14 + w - 1, len(a)):
        prev = a[t - w + 1 : t]
        ref[t] = (np.sum(prev < a[t]) + 0.5 * np.sum(prev == a[t])) / (w - 1)
    assert_close(ours, ref, 1.0, rtol=0)
    assert np.nanmin(ours) == 0.0 and np.nanmax(ours) == 1.0


def test_flat_market_conventions() -> None:
    """No movement at all: TA-Lib's 0 for RSI/ADX/DI/Stoch/CCI/MFI, exactly 0 dispersion."""
    n = 80
    x = np.full(n, 0.1)  # 0.1 is not exact in binary, so float sums leave residue
    v = np.full(n, 3.0)
    assert np.all(ind.rolling_std(x, 20)[19:] == 0.0)
    assert np.all(ind.bbands(x, 20)[0][19:] == ind.bbands(x, 20)[2][19:])
    assert np.all(ind.rsi(x)[14:] == 0.0)
    assert np.all(ind.adx(x, x, x)[27:] == 0.0)
    assert np.all(ind.stoch(x, x, x)[0][17:] == 0.0)
    assert np.all(ind.cci(x, x, x)[19:] == 0.0)
    assert np.all(ind.mfi(x, x, x, v)[14:] == 0.0)
    for ours, ref in [
        (ind.rsi(x), talib.RSI(x)),
        (ind.adx(x, x, x), talib.ADX(x, x, x)),
        (ind.cci(x, x, x), talib.CCI(x, x, x, 20)),
        (ind.mfi(x, x, x, v), talib.MFI(x, x, x, v)),
    ]:
        assert_close(ours, ref, 1.0, rtol=0)


def test_short_and_all_nan_inputs_give_all_nan() -> None:
    short = np.arange(5.0) + 1
    assert np.isnan(ind.sma(short, 10)).all() and len(ind.sma(short, 10)) == 5
    assert np.isnan(ind.rsi(short, 14)).all()
    assert np.isnan(ind.macd(short)[0]).all()
    assert np.isnan(ind.adx(short, short, short)).all()
    nan = np.full(30, np.nan)
    assert np.isnan(ind.ema(nan, 3)).all()
    assert len(ind.ema(np.array([]), 3)) == 0


def test_rejects_bad_periods_and_ragged_inputs() -> None:
    x = np.arange(50.0)
    with pytest.raises(ValueError):
        ind.sma(x, 0)
    with pytest.raises(ValueError):
        ind.ema(x, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ind.atr(x, x[:-1], x)
    with pytest.raises(ValueError):
        ind.percentile_rank(x, 1)


def test_long_series_accuracy_does_not_drift() -> None:
    """1M-bar random walk around 30,000: rolling sums stay accurate at the end of the series."""
    rng = np.random.default_rng(42)
    x = 30_000 + np.cumsum(rng.normal(0, 5, 1_000_000))
    tail = x[-500:]
    ref_mean = np.lib.stride_tricks.sliding_window_view(tail, 20).mean(axis=1)
    ref_std = np.lib.stride_tricks.sliding_window_view(tail, 20).std(axis=1)
    np.testing.assert_allclose(ind.sma(x, 20)[-481:], ref_mean, rtol=1e-13)
    np.testing.assert_allclose(ind.rolling_std(x, 20)[-481:], ref_std, rtol=1e-10)
