"""HistoryStore: append + dedupe (last write wins), range reads with row-group pushdown, cheap listing,
and writes that never leave a half-written file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError
from aitrader.data import store as store_mod
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.store import HistoryStore, plan_row_groups

FIELDS = ("ts", "open", "high", "low", "close", "volume")


def same(a: OHLCV, b: OHLCV) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in FIELDS)


@pytest.fixture
def eth(ohlcv_dir: Path) -> OHLCV:
    return read_ohlcv_csv(ohlcv_dir / "bittrex_ETH_BTC-5m.csv")


def test_write_read_round_trip_and_layout(tmp_path: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path)
    assert not s.has("bittrex", "ETH/BTC", "5m")
    assert s.last_ts("bittrex", "ETH/BTC", "5m") is None
    assert s.write("bittrex", "ETH/BTC", "5m", eth) == 5760
    assert (tmp_path / "bittrex" / "ETH_BTC-5m.parquet").is_file()
    assert s.has("bittrex", "ETH/BTC", "5m")
    assert same(s.read("bittrex", "ETH/BTC", "5m"), eth)
    assert s.last_ts("bittrex", "ETH/BTC", "5m") == int(eth.ts[-1])


def test_kinds_are_separate_datasets(tmp_path: Path, ohlcv_dir: Path) -> None:
    s = HistoryStore(tmp_path)
    fut = read_ohlcv_csv(ohlcv_dir / "unknown_XRP_USDT_USDT-1h-futures.csv")
    mark = read_ohlcv_csv(ohlcv_dir / "unknown_XRP_USDT_USDT-1h-mark.csv")
    s.write("unknown", "XRP/USDT:USDT", "1h", fut, kind="futures")
    s.write("unknown", "XRP/USDT:USDT", "1h", mark, kind="mark")
    assert (tmp_path / "unknown" / "XRP_USDT_USDT-1h-futures.parquet").is_file()
    assert (tmp_path / "unknown" / "XRP_USDT_USDT-1h-mark.parquet").is_file()
    assert same(s.read("unknown", "XRP/USDT:USDT", "1h", kind="mark"), mark)
    assert np.isnan(s.read("unknown", "XRP/USDT:USDT", "1h", kind="mark").volume).all()
    assert same(s.read("unknown", "XRP/USDT:USDT", "1h", kind="futures"), fut)
    with pytest.raises(DataError, match="no spot data for unknown XRP/USDT:USDT 1h"):
        s.read("unknown", "XRP/USDT:USDT", "1h")
    with pytest.raises(DataError, match="invalid data kind"):
        s.read("unknown", "XRP/USDT:USDT", "1h", kind="perp")


def test_append_overlap_dedupes_last_write_wins(tmp_path: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path)
    assert s.write("bittrex", "ETH/BTC", "5m", eth.slice(0, 3000)) == 3000
    # second chunk overlaps 500 candles; its overlapping closes are changed so we can see who won
    second = eth.slice(2500)
    changed = OHLCV.from_arrays(
        second.ts, second.open, second.high, second.low, second.close * 1.5, second.volume
    )
    assert s.write("bittrex", "ETH/BTC", "5m", changed) == 5760 - 3000
    got = s.read("bittrex", "ETH/BTC", "5m")
    assert len(got) == 5760
    assert bool(np.all(np.diff(got.ts) > 0))
    assert np.array_equal(got.close[:2500], eth.close[:2500])
    assert np.array_equal(got.close[2500:], eth.close[2500:] * 1.5)
    # writing the same candles again adds nothing and changes nothing
    assert s.write("bittrex", "ETH/BTC", "5m", changed) == 0
    assert same(s.read("bittrex", "ETH/BTC", "5m"), got)


def test_out_of_order_and_inner_duplicates_merge(tmp_path: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path)
    s.write("bittrex", "ETH/BTC", "5m", eth.slice(1000, 2000))
    # older candles arrive later, shuffled, with one timestamp twice (the later row must win)
    idx = np.random.default_rng(7).permutation(1000)
    older = OHLCV.from_arrays(*(getattr(eth, f)[:1000][idx] for f in FIELDS))
    dup = OHLCV.from_arrays(
        np.append(older.ts, eth.ts[5]),
        np.append(older.open, 1.0),
        np.append(older.high, 2.0),
        np.append(older.low, 0.5),
        np.append(older.close, 1.5),
        np.append(older.volume, 9.0),
    )
    assert s.write("bittrex", "ETH/BTC", "5m", dup) == 1000
    got = s.read("bittrex", "ETH/BTC", "5m")
    assert np.array_equal(got.ts, eth.ts[:2000])
    assert got.close[5] == 1.5
    assert np.array_equal(np.delete(got.close, 5), np.delete(eth.close[:2000], 5))


def test_range_read_matches_slice_and_prunes_row_groups(tmp_path: Path, ohlcv_dir: Path) -> None:
    o = read_ohlcv_csv(ohlcv_dir / "bittrex_UNITTEST_BTC-1m.csv")
    s = HistoryStore(tmp_path, row_group_rows=1000)
    s.write("bittrex", "UNITTEST/BTC", "1m", o)
    path = s.path("bittrex", "UNITTEST/BTC", "1m")
    meta = pq.read_metadata(path)
    assert meta.num_row_groups == 14
    start, end = int(o.ts[4321]), int(o.ts[6543])
    groups = plan_row_groups(meta, start, end)
    assert groups == [4, 5, 6]
    got = s.read("bittrex", "UNITTEST/BTC", "1m", start_ms=start, end_ms=end)
    assert same(got, o.slice(4321, 6543))
    # bounds between candles (the 1m file has gaps) and open-ended ranges
    assert same(s.read("bittrex", "UNITTEST/BTC", "1m", start_ms=start + 1), o.slice(4322))
    assert same(s.read("bittrex", "UNITTEST/BTC", "1m", end_ms=start), o.slice(0, 4321))
    assert len(s.read("bittrex", "UNITTEST/BTC", "1m", start_ms=int(o.ts[-1]) + 1)) == 0


def test_range_read_only_decodes_planned_row_groups(
    tmp_path: Path, eth: OHLCV, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = HistoryStore(tmp_path, row_group_rows=500)
    s.write("bittrex", "ETH/BTC", "5m", eth)
    seen: list[list[int]] = []
    real = pq.ParquetFile.read_row_groups

    def spy(self: pq.ParquetFile, row_groups: list[int], *a: object, **k: object) -> object:
        seen.append(list(row_groups))
        return real(self, row_groups, *a, **k)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    got = s.read("bittrex", "ETH/BTC", "5m", start_ms=int(eth.ts[1200]), end_ms=int(eth.ts[1300]))
    assert len(got) == 100
    assert seen == [[2]]


def test_datasets_lists_from_footers(tmp_path: Path, ohlcv_dir: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path, row_group_rows=1000)
    s.write("bittrex", "ETH/BTC", "5m", eth)
    mark = read_ohlcv_csv(ohlcv_dir / "unknown_XRP_USDT_USDT-1h-mark.csv")
    s.write("unknown", "XRP/USDT:USDT", "1h", mark, kind="mark")
    (tmp_path / "bittrex" / "notes.txt").write_text("not a dataset")
    infos = s.datasets()
    assert [(d.exchange, d.symbol, d.timeframe, d.kind, d.rows) for d in infos] == [
        ("bittrex", "ETH/BTC", "5m", "spot", 5760),
        ("unknown", "XRP/USDT:USDT", "1h", "mark", 100),
    ]
    assert (infos[0].first, infos[0].last) == (int(eth.ts[0]), int(eth.ts[-1]))
    assert (infos[1].first, infos[1].last) == (int(mark.ts[0]), int(mark.ts[-1]))
    assert HistoryStore(tmp_path / "missing").datasets() == []


def test_crash_during_write_keeps_old_file(
    tmp_path: Path, eth: OHLCV, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = HistoryStore(tmp_path)
    s.write("bittrex", "ETH/BTC", "5m", eth.slice(0, 1000))

    def boom(*a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        s.write("bittrex", "ETH/BTC", "5m", eth.slice(1000))
    monkeypatch.undo()
    assert same(s.read("bittrex", "ETH/BTC", "5m"), eth.slice(0, 1000))
    leftovers = [p.name for p in (tmp_path / "bittrex").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_corrupt_file_is_a_data_error(tmp_path: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path)
    s.write("bittrex", "ETH/BTC", "5m", eth)
    s.path("bittrex", "ETH/BTC", "5m").write_bytes(b"garbage")
    with pytest.raises(DataError, match="unreadable Parquet file"):
        s.read("bittrex", "ETH/BTC", "5m")


def test_bad_names_are_rejected(tmp_path: Path, eth: OHLCV) -> None:
    s = HistoryStore(tmp_path)
    with pytest.raises(DataError, match="invalid symbol"):
        s.write("bittrex", "ETHBTC", "5m", eth)
    with pytest.raises(DataError, match="invalid exchange"):
        s.write("../etc", "ETH/BTC", "5m", eth)
    with pytest.raises(Exception, match="invalid timeframe"):
        s.write("bittrex", "ETH/BTC", "5x", eth)
