"""Validation on the real files (the README's facts must come out) and on corrupted copies of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aitrader.core.candles import OHLCV
from aitrader.core.symbols import parse_dataset_name
from aitrader.core.time import parse_time
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.validate import check, median

FIELDS = ("ts", "open", "high", "low", "close", "volume")

README_GAPS = {
    "bittrex_ADA_BTC-5m.csv": "40 missing in 5 gap(s); largest 33 after 2018-01-15T11:55:00Z",
    "bittrex_POWR_BTC-5m.csv": "6 missing in 6 gap(s); largest 1 after 2018-01-22T17:15:00Z",
    "bittrex_UNITTEST_BTC-1m.csv": "717 missing in 538 gap(s); largest 7 after 2017-11-05T03:12:00Z",
}


def load(ohlcv_dir: Path, name: str) -> OHLCV:
    return read_ohlcv_csv(ohlcv_dir / name)


def test_real_files_have_readme_gaps_and_no_errors(ohlcv_dir: Path, readme_rows: dict[str, int]) -> None:
    for name in readme_rows:
        d = parse_dataset_name(name)
        r = check(load(ohlcv_dir, name), d.timeframe, kind=d.kind)
        assert r.errors == [], (name, r.errors)
        assert r.gap_summary() == README_GAPS.get(name, "0"), name
        gap_issues = [i for i in r.issues if i.kind == "gap"]
        assert len(gap_issues) == (1 if name in README_GAPS else 0)
        if gap_issues:
            assert gap_issues[0].severity == "warning"
            assert gap_issues[0].message == README_GAPS[name]


def test_flash_crash_is_an_outlier_warning_not_an_error(ohlcv_dir: Path) -> None:
    r = check(load(ohlcv_dir, "binance_XRP_USDT_USDT-8h-futures.csv"), "8h", kind="futures")
    assert r.ok
    outliers = [i for i in r.issues if i.kind == "outlier"]
    assert [i.ts for i in outliers] == [parse_time("2021-12-04T00:00:00Z")]
    assert outliers[0].severity == "warning"
    assert "-18.6%" in outliers[0].message
    # a stricter yardstick (the pair's own volatility x 12) would not call it an outlier
    assert not [
        i for i in check(load(ohlcv_dir, "binance_XRP_USDT_USDT-8h-futures.csv"), "8h", sigmas=12).issues
    ]


def test_per_pair_jump_threshold_overrides_volatility(ohlcv_dir: Path) -> None:
    xlm = load(ohlcv_dir, "bittrex_XLM_BTC-5m.csv")
    # README: biggest 5m move in the Bittrex files is +12.6 % on XLM/BTC at 2018-01-15 14:10
    r = check(xlm, "5m", jump_threshold=0.10)
    outliers = [i for i in r.issues if i.kind == "outlier"]
    assert [i.ts for i in outliers] == [parse_time("2018-01-15T14:10:00Z")]
    assert "+12.6%" in outliers[0].message
    assert r.jump_threshold == 0.10
    assert not [i for i in check(xlm, "5m", jump_threshold=0.13).issues if i.kind == "outlier"]


def test_mark_candles_may_lack_volume_spot_candles_may_not(ohlcv_dir: Path) -> None:
    mark = load(ohlcv_dir, "unknown_XRP_USDT_USDT-1h-mark.csv")
    assert check(mark, "1h", kind="mark").issues == []
    as_spot = check(mark, "1h", kind="spot")
    assert as_spot.ok  # a warning, not an error
    assert [(i.kind, i.count) for i in as_spot.issues] == [("missing_volume", 100)]


def _with(o: OHLCV, **cols: np.ndarray) -> OHLCV:
    return OHLCV.from_arrays(*(cols.get(f, getattr(o, f)) for f in FIELDS))


def kinds(o: OHLCV, tf: str = "5m") -> dict[str, int]:
    return {i.kind: i.count for i in check(o, tf).issues if i.severity == "error"}


def test_corrupted_copies_are_errors(ohlcv_dir: Path) -> None:
    eth = load(ohlcv_dir, "bittrex_ETH_BTC-5m.csv")
    assert kinds(eth) == {}

    high = eth.high.copy()
    high[[10, 20, 30]] = np.minimum(eth.open, eth.close)[[10, 20, 30]] * 0.99
    got = kinds(_with(eth, high=high))
    assert got["high_below_body"] == 3
    assert got["high_below_low"] >= 1

    low = eth.low.copy()
    low[100] = max(eth.open[100], eth.close[100]) * 1.01
    assert kinds(_with(eth, low=low)) == {"low_above_body": 1, "high_below_low": 1}

    close = eth.close.copy()
    close[[5, 6]] = [np.nan, 0.0]
    openp = eth.open.copy()
    openp[7] = -1.0
    r = check(_with(eth, close=close, open=openp), "5m")
    bad = [i for i in r.issues if i.kind == "bad_price"]
    assert bad[0].count == 3
    assert bad[0].examples == tuple(int(t) for t in eth.ts[[5, 6, 7]])

    vol = eth.volume.copy()
    vol[42] = -3.0
    assert kinds(_with(eth, volume=vol)) == {"negative_volume": 1}

    ts = eth.ts.copy()
    ts[50] += 60_000  # one minute off the 5m grid
    assert kinds(_with(eth, ts=ts)) == {"off_grid": 1}


def test_duplicates_and_unsorted_rows_are_errors(ohlcv_dir: Path) -> None:
    eth = load(ohlcv_dir, "bittrex_ETH_BTC-5m.csv")
    idx = np.r_[0:100, 50:60, 100 : len(eth)]  # 10 rows repeated after row 99
    dup = OHLCV.from_arrays(*(getattr(eth, f)[idx] for f in FIELDS))
    r = check(dup, "5m")
    got = {i.kind: i.count for i in r.errors}
    assert got == {"duplicate": 10, "unsorted": 1}
    assert r.gap_summary() == "0"  # duplicates do not distort the gap count


def test_removed_rows_show_up_as_gaps(ohlcv_dir: Path) -> None:
    etc = load(ohlcv_dir, "bittrex_ETC_BTC-5m.csv")
    keep = np.ones(len(etc), dtype=bool)
    keep[[10, 11, 12, 500]] = False
    r = check(OHLCV.from_arrays(*(getattr(etc, f)[keep] for f in FIELDS)), "5m")
    assert r.ok
    assert (r.missing, len(r.gaps), r.largest_gap.missing if r.largest_gap else 0) == (4, 2, 3)
    assert r.gaps[0].after == int(etc.ts[9])


def test_injected_bad_tick_is_an_outlier(ohlcv_dir: Path) -> None:
    eth = load(ohlcv_dir, "bittrex_ETH_BTC-5m.csv")
    base = {i.ts for i in check(eth, "5m").issues if i.kind == "outlier"}
    close = eth.close.copy()
    close[3000] *= 1.08  # a fat-finger tick, about 30 of the pair's robust sigmas
    got = {i.ts for i in check(_with(eth, close=close), "5m").issues if i.kind == "outlier"}
    assert got - base == {int(eth.ts[3000]), int(eth.ts[3001])}  # the jump up and the way back


def test_report_dict_is_json_ready(ohlcv_dir: Path) -> None:
    import json

    r = check(load(ohlcv_dir, "bittrex_ADA_BTC-5m.csv"), "5m")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["gaps"] == {
        "missing": 40,
        "count": 5,
        "largest": 33,
        "largest_after": parse_time("2018-01-15T11:55:00Z"),
    }
    assert d["rows"] == 5720 and d["errors"] == 0


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n: int, ohlcv_dir: Path) -> None:
    o = load(ohlcv_dir, "bittrex_ETH_BTC-5m.csv").slice(0, n)
    r = check(o, "5m")
    assert r.ok and r.rows == n and r.gaps == []


@given(arrays(np.float64, st.integers(0, 60), elements=st.floats(-1e6, 1e6) | st.just(np.nan)))
def test_fast_median_is_numpys(a: np.ndarray) -> None:
    got, want = median(a), float(np.median(a)) if len(a) else float("nan")
    assert got == want or (np.isnan(got) and np.isnan(want))


def test_zero_volume_candles_are_a_warning_with_their_count(ohlcv_dir: Path) -> None:
    eth = load(ohlcv_dir, "bittrex_ETH_BTC-5m.csv")
    before = int((eth.volume == 0).sum())
    volume = eth.volume.copy()
    volume[[7, 8, 9]] = 0.0
    r = check(_with(eth, volume=volume), "5m")
    zero = [i for i in r.issues if i.kind == "zero_volume"]
    assert len(zero) == 1 and zero[0].severity == "warning"
    assert zero[0].count == before + 3
    assert r.errors == []  # a real, thin market: reported, not fatal
