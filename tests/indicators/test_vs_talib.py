"""Every indicator TA-Lib also has equals TA-Lib bar by bar on real candles (1e-9 relative).

TA-Lib's unstable periods are all 0 by default and our seeding reproduces its conventions
exactly, so the comparison runs from the very first output bar, including the NaN layout.
"""

from __future__ import annotations

import numpy as np
import pytest
import talib
from _indicator_data import assert_close, load

import aitrader.indicators as ind
from aitrader.core.candles import OHLCV

PERIODS = [2, 5, 14, 30]


def _price(c: OHLCV) -> float:
    return float(np.median(c.close))


def test_fixture_files_carry_the_edge_cases() -> None:
    ada = load("bittrex_ADA_BTC-5m.csv")
    assert np.max(np.diff(ada.ts)) > 300_000, "expected gaps in the Bittrex file"
    assert np.median(ada.close) < 1e-4
    flat = load("bittrex_UNITTEST_BTC-1m.csv")
    assert np.sum(flat.high == flat.low) > 1000, "expected many flat candles in the 1m file"


@pytest.mark.parametrize("p", PERIODS)
def test_moving_averages(candles: OHLCV, p: int) -> None:
    c = candles.close
    px = _price(candles)
    assert_close(ind.sma(c, p), talib.SMA(c, p), px)
    assert_close(ind.ema(c, p), talib.EMA(c, p), px)
    assert_close(ind.wma(c, p), talib.WMA(c, p), px)
    assert_close(ind.rolling_std(c, p), talib.STDDEV(c, p, 1.0), 1e-4 * px)


@pytest.mark.parametrize("p", PERIODS)
def test_wilder_family(candles: OHLCV, p: int) -> None:
    h, lo, c = candles.high, candles.low, candles.close
    assert_close(ind.rsi(c, p), talib.RSI(c, p), 1.0)
    assert_close(ind.atr(h, lo, c, p), talib.ATR(h, lo, c, p), 1e-4 * _price(candles))
    assert_close(ind.adx(h, lo, c, p), talib.ADX(h, lo, c, p), 1.0)
    assert_close(ind.plus_di(h, lo, c, p), talib.PLUS_DI(h, lo, c, p), 1.0)
    assert_close(ind.minus_di(h, lo, c, p), talib.MINUS_DI(h, lo, c, p), 1.0)


@pytest.mark.parametrize("p", PERIODS)
def test_cci_mfi(candles: OHLCV, p: int) -> None:
    h, lo, c, v = candles.high, candles.low, candles.close, candles.volume
    assert_close(ind.cci(h, lo, c, p), talib.CCI(h, lo, c, p), 1.0)
    assert_close(ind.mfi(h, lo, c, v, p), talib.MFI(h, lo, c, v, p), 1.0)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16), (26, 12, 9)])
def test_macd(candles: OHLCV, fast: int, slow: int, signal: int) -> None:
    ours = ind.macd(candles.close, fast, slow, signal)
    ref = talib.MACD(candles.close, fast, slow, signal)
    for a, b in zip(ours, ref, strict=True):
        assert_close(a, b, 1e-3 * _price(candles))


@pytest.mark.parametrize(("p", "nb"), [(20, 2.0), (5, 1.5), (50, 3.0)])
def test_bbands(candles: OHLCV, p: int, nb: float) -> None:
    ours = ind.bbands(candles.close, p, nb)
    ref = talib.BBANDS(candles.close, p, nb, nb, 0)
    for a, b in zip(ours, ref, strict=True):
        assert_close(a, b, _price(candles))


@pytest.mark.parametrize(("fk", "sk", "sd"), [(14, 3, 3), (5, 1, 4), (21, 5, 2)])
def test_stoch(candles: OHLCV, fk: int, sk: int, sd: int) -> None:
    h, lo, c = candles.high, candles.low, candles.close
    ours = ind.stoch(h, lo, c, fk, sk, sd)
    ref = talib.STOCH(h, lo, c, fk, sk, 0, sd, 0)
    for a, b in zip(ours, ref, strict=True):
        assert_close(a, b, 1.0)


def test_true_range_and_obv(candles: OHLCV) -> None:
    h, lo, c, v = candles.high, candles.low, candles.close, candles.volume
    assert_close(ind.true_range(h, lo, c), talib.TRANGE(h, lo, c), 1e-4 * _price(candles))
    assert_close(ind.obv(c, v), talib.OBV(c, v), float(np.median(v)))


def test_chained_leading_nan_matches_talib(candles: OHLCV) -> None:
    """Indicators of indicators: leading NaN are skipped like TA-Lib's wrapper does."""
    r = talib.RSI(candles.close, 14)
    assert_close(ind.sma(ind.rsi(candles.close, 14), 9), talib.SMA(r, 9), 1.0)
    assert_close(ind.ema(r, 9), talib.EMA(r, 9), 1.0)
    assert_close(ind.wma(r, 9), talib.WMA(r, 9), 1.0)
    assert_close(ind.rolling_std(r, 9), talib.STDDEV(r, 9), 1.0)
    assert_close(ind.rsi(r, 5), talib.RSI(r, 5), 1.0)
    line = talib.MACD(candles.close)[0]
    for a, b in zip(ind.macd(line, 3, 7, 4), talib.MACD(line, 3, 7, 4), strict=True):
        assert_close(a, b, 1e-3 * _price(candles))
