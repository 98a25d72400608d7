"""CandleCache: closed-only rings, upsert vs append, rollups equal to data.resample, staleness, outliers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aitrader.config import DataConfig
from aitrader.core.candles import OHLCV, Candle
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.data.cache import CandleCache, Outcome
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.resample import resample
from aitrader.data.validate import check
from aitrader.metrics import DATA_OUTLIERS_REJECTED, DATA_STALE_EPISODES
from shared_data import SHARED

SYM = "ETH/BTC"
MIN = 60_000
MONDAY = 1_704_067_200_000  # 2024-01-01T00:00:00Z, a Monday
NO_OUTLIERS = DataConfig(outlier_sigmas=1e9)


def _c(ts: int, close: float, vol: float = 1.0) -> Candle:
    return Candle(ts, close, close * 1.01, close * 0.99, close, vol)


# --- rollups equal the batch resample -------------------------------------------------------------


@st.composite
def _streams(draw: st.DrawFn) -> tuple[str, tuple[str, ...], list[Candle], list[int]]:
    base, higher = draw(st.sampled_from([("1m", ("5m", "15m", "1h")), ("1h", ("4h", "1d", "1w"))]))
    tf = timeframe_to_ms(base)
    n = draw(st.integers(1, 60))
    start = MONDAY + draw(st.integers(-200, 200)) * tf
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 3, 7]), min_size=n, max_size=n))
    ts = start + tf * np.cumsum(steps)
    closes = draw(st.lists(st.floats(0.5, 2.0), min_size=n, max_size=n))
    vols = draw(st.lists(st.one_of(st.floats(0, 1e4), st.just(math.nan)), min_size=n, max_size=n))
    # after each candle the clock may run past its close before the next candle shows up
    waits = draw(st.lists(st.integers(0, 3 * tf), min_size=n, max_size=n))
    candles = [
        Candle(int(t), c, c * 1.02, c * 0.97, c * 1.001, v) for t, c, v in zip(ts, closes, vols, strict=True)
    ]
    return base, higher, candles, waits


def _same(a: OHLCV, b: OHLCV) -> bool:
    return bool(
        np.array_equal(a.ts, b.ts)
        and all(
            np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)
            for k in ("open", "high", "low", "close", "volume")
        )
    )


def _ohlcv(cs: list[Candle]) -> OHLCV:
    if not cs:
        return OHLCV.empty()
    return OHLCV.from_arrays(*zip(*cs, strict=True))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(_streams())
def test_closed_rollups_equal_batch_resample_at_every_step(
    case: tuple[str, tuple[str, ...], list[Candle], list[int]],
) -> None:
    base, higher, candles, waits = case
    tf = timeframe_to_ms(base)
    cache = CandleCache(base, higher, capacity=1000, config=NO_OUTLIERS)
    events: list[CandleClosed] = []
    closed_base: list[Candle] = []

    def check_now(now: int) -> None:
        events.extend(cache.advance(now))
        closed_base[:] = [e.candle for e in events if e.timeframe == base]
        for h in higher:
            got = _ohlcv([e.candle for e in events if e.timeframe == h])
            assert _same(got, resample(_ohlcv(closed_base), base, h, now_ms=now)), (h, now)
            assert _same(cache.window(SYM, h), got)

    now = candles[0].ts
    nxt = [c.ts for c in candles[1:]] + [candles[-1].ts + 10 * tf]
    for c, wait, next_ts in zip(candles, waits, nxt, strict=True):
        # a candle's first update may come late (first trade), but always before its close
        now = max(now, c.ts)
        opening = Candle(c.ts, c.open, c.open, c.open, c.open, 0.0)
        u = cache.update(SYM, opening, now)
        assert u.outcome is Outcome.APPENDED
        events.extend(u.closed)
        check_now(now)
        now = c.ts + tf - 1
        assert cache.update(SYM, c, now).outcome is Outcome.UPDATED
        assert cache.update(SYM, c, now).outcome is Outcome.DUPLICATE
        now += min(wait, next_ts - c.ts - 1)  # quiet market: the clock runs on
        check_now(now)
    check_now(candles[-1].ts + 10 * timeframe_to_ms(higher[-1]))
    # every base candle closed exactly once, with its final values, in time order
    assert closed_base == candles
    assert _same(cache.window(SYM), _ohlcv(candles))


# --- ring, upsert/append, order ---------------------------------------------------------------------


def test_window_is_time_ordered_after_the_ring_wraps_and_never_holds_the_forming_candle() -> None:
    cache = CandleCache("1m", (), capacity=5, config=NO_OUTLIERS)
    for i in range(12):
        cache.update(SYM, _c(i * MIN, 100.0 + i), i * MIN)
    w = cache.window(SYM)
    assert list(w.ts) == [i * MIN for i in range(6, 11)]  # 11 closed, capacity 5; #11 still forming
    assert list(w.close) == [106.0, 107.0, 108.0, 109.0, 110.0]
    assert w.ts.flags["C_CONTIGUOUS"] and w.close.flags["C_CONTIGUOUS"]
    assert list(cache.window(SYM, n=2).ts) == [9 * MIN, 10 * MIN]
    assert list(cache.window(SYM, n=3, include_forming=True).ts) == [9 * MIN, 10 * MIN, 11 * MIN]
    w.close[:] = 0.0  # a copy: the caller cannot corrupt the cache
    assert cache.last_closed(SYM) == _c(10 * MIN, 110.0)


def test_closed_by_a_later_candle_or_by_the_clock_and_late_or_old_updates_ignored() -> None:
    cache = CandleCache("1m", ("5m",), config=NO_OUTLIERS, close_grace_ms=2_000)
    assert cache.update(SYM, _c(0, 10.0), 0).closed == []
    assert cache.advance(MIN) == []  # close time reached, grace not over: a final update may come
    assert cache.update(SYM, _c(0, 11.0), MIN + 500).outcome is Outcome.UPDATED
    (ev,) = cache.advance(MIN + 2_000)
    assert ev == CandleClosed(SYM, "1m", _c(0, 11.0))
    assert cache.update(SYM, _c(0, 12.0), MIN + 3_000).outcome is Outcome.OLD  # after its close: final
    u = cache.update(SYM, _c(3 * MIN, 13.0), 3 * MIN)  # a gap: minutes 1 and 2 had no trades
    assert u.outcome is Outcome.APPENDED and u.closed == []
    u = cache.update(SYM, _c(5 * MIN, 14.0), 5 * MIN)  # closes minute 3 and with it the 5m bucket
    assert [(e.timeframe, e.candle.ts) for e in u.closed] == [("1m", 3 * MIN), ("5m", 0)]
    assert u.closed[1].candle == Candle(0, 11.0, 13.0 * 1.01, 11.0 * 0.99, 13.0, 2.0)
    assert cache.update(SYM, _c(4 * MIN, 99.0), 5 * MIN).outcome is Outcome.OLD  # out of order
    assert [c.ts for c in [cache.last_closed(SYM)] if c] == [3 * MIN]
    assert cache.counts[Outcome.OLD] == 2


# --- staleness --------------------------------------------------------------------------------------


def test_staleness_per_stream_from_every_update_path_and_one_alert_per_episode() -> None:
    alerts: list[tuple[str, tuple[str, ...], int]] = []
    cache = CandleCache(
        "1m", (), config=NO_OUTLIERS, on_stale=lambda s, st_, now: alerts.append((s, st_, now))
    )
    assert cache.is_stale(SYM, "ohlcv", 0)  # never seen anything
    for stream in ("ohlcv", "ticker", "book"):
        cache.expect(SYM, stream, 0)
    assert cache.entries_allowed(SYM, 3 * MIN) and alerts == []  # default threshold: 3 intervals
    before = DATA_STALE_EPISODES.labels(SYM)._value.get()
    cache.update(SYM, _c(3 * MIN, 10.0), 3 * MIN)  # the candle path touches "ohlcv"
    cache.touch(SYM, "ticker", 3 * MIN)
    assert not cache.entries_allowed(SYM, 3 * MIN + 1)  # book silent since expected at 0
    assert not cache.entries_allowed(SYM, 4 * MIN)
    assert alerts == [(SYM, ("book",), 3 * MIN + 1)]  # once for the episode, not per check
    cache.touch(SYM, "book", 4 * MIN)
    assert cache.entries_allowed(SYM, 4 * MIN)
    # a duplicate is not news: it does not refresh the stream
    assert cache.update(SYM, _c(3 * MIN, 10.0), 6 * MIN + 1).outcome is Outcome.DUPLICATE
    cache.touch(SYM, "ticker", 6 * MIN)
    cache.touch(SYM, "book", 6 * MIN)
    assert cache.is_stale(SYM, "ohlcv", 6 * MIN + 1) and not cache.is_stale(SYM, "ticker", 6 * MIN + 1)
    assert not cache.entries_allowed(SYM, 6 * MIN + 1)
    assert alerts[-1] == (SYM, ("ohlcv",), 6 * MIN + 1) and len(alerts) == 2
    assert DATA_STALE_EPISODES.labels(SYM)._value.get() == before + 2
    # REST warm-up (load) is an update path too
    cache.load(SYM, _ohlcv([_c(7 * MIN, 10.0)]), 7 * MIN)
    assert cache.staleness.last_update(SYM, "ohlcv") == 7 * MIN
    assert cache.entries_allowed(SYM, 7 * MIN)


def test_stale_after_ms_from_config_overrides_three_intervals() -> None:
    cache = CandleCache("1h", (), config=DataConfig(stale_after_ms=5_000))
    cache.touch(SYM, "ticker", 0)
    assert not cache.is_stale(SYM, "ticker", 5_000) and cache.is_stale(SYM, "ticker", 5_001)
    assert CandleCache("1h", ()).staleness.threshold("ohlcv") == 3 * 3_600_000


# --- outliers ---------------------------------------------------------------------------------------


def test_per_pair_jump_threshold_rejects_and_counts_only_that_pair() -> None:
    cache = CandleCache("1m", (), config=DataConfig(outlier_jump={SYM: 0.10}))
    other = "XRP/USDT"
    before = DATA_OUTLIERS_REJECTED.labels(SYM)._value.get()
    for s in (SYM, other):
        cache.update(s, _c(0, 100.0), 0)
        cache.update(s, _c(MIN, 100.0), MIN)  # minute 0 closed at 100
    assert cache.update(SYM, _c(MIN, 85.0), MIN + 1).outcome is Outcome.OUTLIER  # -15 %
    assert cache.update(SYM, _c(MIN, 109.0), MIN + 2).outcome is Outcome.UPDATED  # +9 %
    assert cache.update(other, _c(MIN, 85.0), MIN + 1).outcome is Outcome.UPDATED  # no threshold, no history
    assert cache.forming(SYM) == _c(MIN, 109.0)
    assert cache.outliers.rejected == {SYM: 1}
    assert DATA_OUTLIERS_REJECTED.labels(SYM)._value.get() == before + 1


def _eth_btc() -> OHLCV:
    shared = SHARED / "data/ohlcv/bittrex_ETH_BTC-5m.csv"
    bundled = Path(__file__).resolve().parents[2] / "src/aitrader/sample_data/ohlcv/bittrex_ETH_BTC-5m.csv"
    return read_ohlcv_csv(shared if shared.exists() else bundled)


def test_robust_sigma_rule_on_real_candles_matches_validate_and_lets_a_lasting_move_through() -> None:
    real = _eth_btc().slice(0, 600)
    cache = CandleCache("5m", ("15m",), config=DataConfig(outlier_sigmas=8.0))
    t_end = int(real.ts[-1]) + 300_000
    cache.load(SYM, real, t_end)
    assert len(cache.window(SYM)) == 600
    # the yardstick is validate's: 8 robust sigmas of the last 500 closed log returns
    rep = check(real.slice(100), "5m", sigmas=8.0)
    stats = cache.outliers.stats(SYM)
    assert stats is not None
    med, sigma = stats
    assert rep.robust_sigma == pytest.approx(sigma, rel=1e-12)
    last = float(real.close[-1])
    ok_move = last * math.exp(med + 3 * sigma)
    bad_move = last * math.exp(med + 12 * sigma)
    assert cache.update(SYM, _c(t_end, ok_move), t_end).outcome is Outcome.APPENDED
    assert cache.update(SYM, _c(t_end, bad_move), t_end + 1).outcome is Outcome.OUTLIER
    assert cache.forming(SYM) == _c(t_end, ok_move)
    # the price stays there: after max_consecutive rejections it is a move, not a bad print
    outcomes = [
        cache.update(SYM, _c(t_end, bad_move * (1 + i * 1e-6)), t_end + 2 + i).outcome for i in range(5)
    ]
    assert outcomes == [Outcome.OUTLIER] * 4 + [Outcome.UPDATED]  # 5 rejections in a row, then accepted
    assert cache.outliers.rejected[SYM] == 5
