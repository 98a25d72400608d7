"""Resampling: reproduces real exchange aggregates, obeys the aggregation laws, never looks ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError
from aitrader.core.time import DAY_MS, MINUTE_MS, WEEK_MS, parse_time, timeframe_to_ms
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.resample import bucket_start, resample

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def test_5m_futures_reproduce_binance_8h_candles(ohlcv_dir: Path) -> None:
    # README: the 8h file is the 5m series aggregated; 11 of 12 overlapping candles are identical,
    # the 12th overlaps the end of the 5m file (incomplete, so it must not be emitted at all)
    m5 = read_ohlcv_csv(ohlcv_dir / "binance_XRP_USDT_USDT-5m-futures.csv")
    h8 = read_ohlcv_csv(ohlcv_dir / "binance_XRP_USDT_USDT-8h-futures.csv")
    out = resample(m5, "5m", "8h")
    common = np.intersect1d(out.ts, h8.ts)
    assert len(common) == 11
    assert int(out.ts[-1]) == parse_time("2021-11-21T08:00:00Z")  # the 16:00 bucket is incomplete
    oi, hi = np.searchsorted(out.ts, common), np.searchsorted(h8.ts, common)
    for f in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(out, f)[oi], getattr(h8, f)[hi]), f
    np.testing.assert_allclose(out.volume[oi], h8.volume[hi], rtol=1e-12)
    # with a clock at 2021-11-22 the last (partial) bucket is closed and emitted
    later = resample(m5, "5m", "8h", now_ms=parse_time("2021-11-22"))
    assert int(later.ts[-1]) == parse_time("2021-11-21T16:00:00Z")


def test_gaps_are_not_invented(ohlcv_dir: Path) -> None:
    # ADA/BTC misses 33 consecutive 5m candles after 2018-01-15 11:55 (README)
    ada = read_ohlcv_csv(ohlcv_dir / "bittrex_ADA_BTC-5m.csv")
    out = resample(ada, "5m", "1h")
    hour = parse_time("2018-01-15T12:00:00Z")
    assert hour not in set(out.ts.tolist())  # 12:00-12:55 has no source candle
    assert hour - 3_600_000 in set(out.ts.tolist())
    # every emitted hour is built from the candles it has: volume sums match exactly per bucket
    keys = bucket_start(ada.ts, 3_600_000)
    for t in out.ts[:50]:
        assert np.isclose(out.volume[out.ts == t][0], ada.volume[keys == t].sum(), rtol=1e-12)


def test_weeks_open_on_monday_and_days_at_midnight(ohlcv_dir: Path) -> None:
    m1 = read_ohlcv_csv(ohlcv_dir / "bittrex_UNITTEST_BTC-1m.csv")
    days = resample(m1, "1m", "1d", now_ms=parse_time("2018-01-01"))
    assert bool(np.all(days.ts % DAY_MS == 0))
    weeks = resample(m1, "1m", "1w", now_ms=parse_time("2018-01-01"), partial_first=True)
    # 2017-11-06 and 2017-11-13 are Mondays; the data starts Saturday 2017-11-04, so the first
    # week bucket is Monday 2017-10-30
    assert weeks.ts.tolist() == [parse_time(d) for d in ("2017-10-30", "2017-11-06", "2017-11-13")]
    assert weeks.open[0] == m1.open[0]
    # by default that first week, of which the data holds only the weekend, is not emitted
    full_weeks = resample(m1, "1m", "1w", now_ms=parse_time("2018-01-01"))
    assert full_weeks.ts.tolist() == weeks.ts.tolist()[1:]
    assert weeks.close[-1] == m1.close[-1]
    assert weeks.high.max() == m1.high.max()


def test_a_first_bucket_the_data_starts_inside_of_is_dropped() -> None:
    # 1m candles from 2024-01-01 23:02 to 2024-01-03 00:59: the first day holds 58 minutes of data
    start = parse_time("2024-01-01T23:02:00Z")
    n = 58 + 24 * 60 + 60
    ts = start + np.arange(n, dtype=np.int64) * MINUTE_MS
    price = 100.0 + np.arange(n, dtype=np.float64)
    m1 = OHLCV.from_arrays(ts, price, price + 0.5, price - 0.5, price, np.ones(n))
    days = resample(m1, "1m", "1d")
    assert days.ts.tolist() == [parse_time("2024-01-02")]  # not 2024-01-01 from 58 minutes
    assert days.open[0] == price[58] and days.close[0] == price[58 + 1439]
    assert days.volume[0] == 1440.0
    # the same with a clock, and the last bucket keeps its contract: 2024-01-03 closes only by the clock
    assert resample(m1, "1m", "1d", now_ms=parse_time("2024-01-03T01:00:00Z")).ts.tolist() == days.ts.tolist()
    assert resample(m1, "1m", "1d", now_ms=parse_time("2024-01-04")).ts.tolist() == [
        parse_time("2024-01-02"),
        parse_time("2024-01-03"),
    ]
    # asked for explicitly, the partial first bucket is kept, built from the 58 minutes it has
    kept = resample(m1, "1m", "1d", partial_first=True)
    assert kept.ts.tolist() == [parse_time("2024-01-01"), parse_time("2024-01-02")]
    assert kept.open[0] == price[0] and kept.volume[0] == 58.0
    # data starting on a bucket boundary keeps its first bucket
    aligned = m1.slice(58, n)
    assert resample(aligned, "1m", "1d").ts.tolist() == [parse_time("2024-01-02")]
    # only data inside the first bucket: nothing closed to emit
    assert len(resample(m1.slice(0, 58), "1m", "1d", now_ms=parse_time("2024-01-05"))) == 0
    # a later bucket missing its leading candles (no trades) is still built from what it has
    no_trades = OHLCV.from_arrays(*(np.delete(getattr(m1, f), [58, 59]) for f in FIELDS))
    later = resample(no_trades, "1m", "1d")
    assert later.ts.tolist() == [parse_time("2024-01-02")] and later.volume[0] == 1438.0


def test_rejects_impossible_requests(ohlcv_dir: Path) -> None:
    m5 = read_ohlcv_csv(ohlcv_dir / "bittrex_ETH_BTC-5m.csv")
    with pytest.raises(DataError, match="not a multiple"):
        resample(m5, "5m", "7m")
    with pytest.raises(DataError, match="not a multiple"):
        resample(m5, "5m", "1m")
    shuffled = OHLCV.from_arrays(*(getattr(m5, f)[::-1] for f in FIELDS))
    with pytest.raises(DataError, match="not strictly increasing"):
        resample(shuffled, "5m", "1h")


# ---- properties -------------------------------------------------------------------------------

T0 = parse_time("2024-01-01T00:00:00Z")  # a Monday


@st.composite
def candles(draw: st.DrawFn) -> tuple[OHLCV, str]:
    src = draw(st.sampled_from(["1m", "5m", "1h"]))
    step = timeframe_to_ms(src)
    n = draw(st.integers(1, 400))
    present = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    present[draw(st.integers(0, n - 1))] = True
    offset = draw(st.integers(0, 3 * 24 * 60)) * MINUTE_MS // step * step
    idx = np.flatnonzero(present)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = len(idx)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, m)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.002, m))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.003, m)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.003, m)))
    vol = rng.lognormal(1, 1, m)
    ts = T0 + offset + idx.astype(np.int64) * step
    return OHLCV.from_arrays(ts, open_, high, low, close, vol), src


DST = {"1m": ["5m", "15m", "1h"], "5m": ["15m", "1h", "4h"], "1h": ["4h", "1d", "1w"]}


@settings(max_examples=100, deadline=None)
@given(data=candles(), pick=st.integers(0, 2), cut=st.floats(0, 1), use_now=st.booleans())
def test_aggregation_laws_and_no_lookahead(
    data: tuple[OHLCV, str], pick: int, cut: float, use_now: bool
) -> None:
    o, src = data
    dst = DST[src][pick]
    dst_ms = timeframe_to_ms(dst)
    span_end = int(o.ts[-1]) + timeframe_to_ms(src)
    now = int(o.ts[0] + cut * (span_end + dst_ms - o.ts[0])) if use_now else None
    out = resample(o, src, dst, now_ms=now)

    keys = bucket_start(o.ts, dst_ms)
    assert bool(np.all(np.diff(out.ts) > 0))
    if dst_ms % WEEK_MS == 0:
        assert bool(np.all((out.ts - 4 * DAY_MS) % dst_ms == 0))  # Mondays
    else:
        assert bool(np.all(out.ts % dst_ms == 0))
    for i, b in enumerate(out.ts):
        members = keys == b
        assert members.any()  # no invented candles
        ts_in = o.ts[members]
        assert bool(np.all(ts_in < b + dst_ms))  # nothing at or after the close
        if now is not None:
            assert b + dst_ms <= now
            assert bool(np.all(ts_in + timeframe_to_ms(src) <= now))
        assert out.open[i] == o.open[members][0]
        assert out.close[i] == o.close[members][-1]
        assert out.high[i] == o.high[members].max()
        assert out.low[i] == o.low[members].min()
        assert np.isclose(out.volume[i], o.volume[members].sum(), rtol=1e-12)
        assert out.high[i] >= max(out.open[i], out.close[i])
        assert out.low[i] <= min(out.open[i], out.close[i])
    # volume is conserved across the emitted buckets
    emitted = np.isin(keys, out.ts)
    assert np.isclose(out.volume.sum(), o.volume[emitted].sum(), rtol=1e-9)
    # every bucket left out is one that could still change, or a first bucket the data starts inside of
    for b in np.setdiff1d(np.unique(keys), out.ts):
        if b == keys[0] and o.ts[0] > b:
            continue  # checked below
        if now is not None:
            assert b + dst_ms > now
        else:
            assert not bool(np.any(o.ts >= b + dst_ms))
            assert o.ts[keys == b][-1] + timeframe_to_ms(src) < b + dst_ms
    # a first bucket the data starts inside of is never emitted; asked for, it is, and nothing else changes
    kept = resample(o, src, dst, now_ms=now, partial_first=True)
    partial = bool(o.ts[0] > keys[0])
    assert not (partial and len(out) and out.ts[0] == keys[0])
    drop = 1 if partial and len(kept) and kept.ts[0] == keys[0] else 0
    for f in FIELDS:
        assert np.array_equal(getattr(out, f), getattr(kept, f)[drop:]), f


@settings(max_examples=60, deadline=None)
@given(data=candles(), pick=st.integers(0, 2), cut=st.floats(0, 1))
def test_truncated_history_gives_the_same_closed_candles(
    data: tuple[OHLCV, str], pick: int, cut: float
) -> None:
    # what a live system sees at time T (only candles closed by T) must resample to exactly the
    # candles of the full history that close by T: the future cannot leak into the past
    o, src = data
    dst = DST[src][pick]
    step = timeframe_to_ms(src)
    t = int(o.ts[0] + cut * (o.ts[-1] + step - o.ts[0] + timeframe_to_ms(dst)))
    known = o.slice(0, int(np.searchsorted(o.ts + step, t, "right")))
    full = resample(o, src, dst, now_ms=t)
    seen = resample(known, src, dst, now_ms=t)
    for f in FIELDS:
        assert np.array_equal(getattr(full, f), getattr(seen, f)), f
    # and without a clock, the prefix's output is a prefix of the full output
    a, b = resample(known, src, dst), resample(o, src, dst)
    assert len(a) <= len(b)
    for f in FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)[: len(a)]), f
