"""The indicator cache: identical calls on a candle set's own columns compute once, anything else is
computed as without it, results are read-only, the scope is one context, hits and misses are counted."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping

import numpy as np
import pytest

from aitrader.config import Settings
from aitrader.confluence import Confluence
from aitrader.core.candles import OHLCV
from aitrader.indicators import atr, bbands, ema, macd, rsi
from aitrader.indicators.cache import active_cache, indicator_cache
from aitrader.metrics import REGISTRY
from aitrader.strategies import Signals, Strategy
from aitrader.strategies.sample import load_ohlcv_csv, sample_path
from aitrader.strategies.streaming import WindowedStream


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return load_ohlcv_csv(sample_path("binance_BTC_USDT_USDT-5m-futures.csv"))


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_identical_calls_on_the_candles_columns_compute_once(candles: OHLCV) -> None:
    c = candles.close
    plain = ema(c, 12)
    hits0 = _metric("aitrader_indicator_cache_hits_total")
    misses0 = _metric("aitrader_indicator_cache_misses_total")
    with indicator_cache(candles) as cache:
        first = ema(c, 12)
        again = ema(c, period=12)  # same call spelled with a keyword: a different key, computed once more
        second = ema(c, 12)
        other = ema(c, 26)
        up, _, _ = bbands(c, 20, 2.0)
        up2, _, _ = bbands(c, 20, 2.0)
        atr_a = atr(candles.high, candles.low, c, 14)
        atr_b = atr(candles.high, candles.low, c, 14)
    assert second is first and up2 is up and atr_b is atr_a
    assert other is not first and again is not first
    np.testing.assert_array_equal(first, plain)  # a hit is exactly what computing gives
    np.testing.assert_array_equal(again, plain)
    assert (cache.hits, cache.misses) == (3, 5)
    assert _metric("aitrader_indicator_cache_hits_total") - hits0 == 3
    assert _metric("aitrader_indicator_cache_misses_total") - misses0 == 5
    assert active_cache() is None  # the block ended


def test_other_arrays_and_parameters_are_never_served_from_the_cache(candles: OHLCV) -> None:
    c = candles.close
    with indicator_cache(candles) as cache:
        base = rsi(c, 14)
        copy = c.copy()  # equal values, but not the column: computed, not counted
        assert rsi(copy, 14) is not base
        shifted = np.roll(c, 1)
        assert not np.array_equal(rsi(shifted, 14), base, equal_nan=True)
        assert rsi(c, 7) is not base
    assert (cache.hits, cache.misses) == (0, 2)


def test_cached_results_are_read_only(candles: OHLCV) -> None:
    with indicator_cache(candles):
        _, _, hist = macd(candles.close, 12, 26, 9)
        with pytest.raises(ValueError, match="read-only"):
            hist[0] = 1.0  # a strategy must copy before writing; the next reader is protected
    fresh = macd(candles.close, 12, 26, 9)[2]
    fresh[0] = 1.0  # outside a cache results are the caller's own


def test_the_cache_belongs_to_one_context(candles: OHLCV) -> None:
    seen: dict[str, object] = {}

    def probe(key: str) -> None:
        seen[key] = active_cache()

    with indicator_cache(candles) as cache:
        t = threading.Thread(target=probe, args=("bare",))
        t.start()
        t.join()
        ctx = contextvars.copy_context()
        t = threading.Thread(target=ctx.run, args=(probe, "copied"))
        t.start()
        t.join()
        with indicator_cache(candles) as inner:
            assert active_cache() is inner
        assert active_cache() is cache
    assert seen == {"bare": None, "copied": cache}


def test_confluence_shares_indicators_and_decides_as_without_cache(
    candles: OHLCV, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = Confluence.from_settings(Settings())
    hits0 = _metric("aitrader_indicator_cache_hits_total")
    with_cache = conf.evaluate("BTC/USDT:USDT", candles, timeframe="5m")
    hits = _metric("aitrader_indicator_cache_hits_total") - hits0
    assert hits >= 2  # at least the regime's ATR(14) reused for the stops, and ADX(14) by trend_adx

    import contextlib

    import aitrader.confluence.engine as engine_mod

    monkeypatch.setattr(engine_mod, "indicator_cache", lambda *a: contextlib.nullcontext())
    plain = conf.evaluate("BTC/USDT:USDT", candles, timeframe="5m")
    assert _metric("aitrader_indicator_cache_hits_total") - hits0 == hits  # nothing cached this time
    for field in ("direction", "confidence", "stop", "take", "atr"):
        np.testing.assert_array_equal(getattr(with_cache, field), getattr(plain, field))
    assert with_cache.direction.any()


class _TwiceEma(Strategy):
    """A user strategy without a streamer that asks for the same EMA in two places."""

    name = "twice_ema"
    description = "ema twice"

    @property
    def warmup(self) -> int:
        return 10

    @property
    def history(self) -> int:
        return 50

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        fast, again = ema(candles.close, 10), ema(candles.close, 10)
        return Signals.from_events(candles.close > fast, candles.close < again)


@pytest.mark.parametrize("budget_s", [None, 5.0])
def test_live_windowed_strategies_share_their_indicators(candles: OHLCV, budget_s: float | None) -> None:
    stream = WindowedStream(_TwiceEma(), budget_s=budget_s)  # inline, and on the strategy pool
    hits = _metric("aitrader_indicator_cache_hits_total")
    misses = _metric("aitrader_indicator_cache_misses_total")
    for i in range(20):
        stream.update(candles.candle(i))
    assert _metric("aitrader_indicator_cache_hits_total") - hits == 20  # the second EMA of each update
    assert _metric("aitrader_indicator_cache_misses_total") - misses == 20
