"""CSV reading/writing on the real files, and one-line errors naming file, line and problem."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aitrader.core.errors import DataError
from aitrader.data.csv_io import read_ohlcv_csv, write_ohlcv_csv

HEADER = "timestamp,open,high,low,close,volume\n"


def test_reads_every_real_file_with_readme_row_counts(ohlcv_dir: Path, readme_rows: dict[str, int]) -> None:
    for name, rows in readme_rows.items():
        o = read_ohlcv_csv(ohlcv_dir / name)
        assert len(o) == rows, name
        ref = pd.read_csv(ohlcv_dir / name)
        assert np.array_equal(o.ts, ref["timestamp"].to_numpy())
        for col in ("open", "high", "low", "close"):
            assert np.array_equal(getattr(o, col), ref[col].to_numpy()), (name, col)
        assert np.array_equal(o.volume, ref["volume"].to_numpy(), equal_nan=True)


def test_mark_candles_have_nan_volume(ohlcv_dir: Path) -> None:
    o = read_ohlcv_csv(ohlcv_dir / "unknown_XRP_USDT_USDT-1h-mark.csv")
    assert np.isnan(o.volume).all()
    assert np.isfinite(o.close).all()


@pytest.mark.parametrize("name", ["bittrex_UNITTEST_BTC-1m.csv", "unknown_XRP_USDT_USDT-1h-mark.csv"])
def test_write_is_byte_identical_to_the_shared_format(ohlcv_dir: Path, tmp_path: Path, name: str) -> None:
    # UNITTEST 1m has volumes like 0.00000001 that naive float formatting writes as 1e-08
    src = ohlcv_dir / name
    out = tmp_path / name
    write_ohlcv_csv(out, read_ohlcv_csv(src))
    assert out.read_bytes() == src.read_bytes()


def test_gzip_round_trip(ohlcv_dir: Path, tmp_path: Path) -> None:
    src = read_ohlcv_csv(ohlcv_dir / "bittrex_ADA_BTC-5m.csv")
    out = tmp_path / "x.csv.gz"
    write_ohlcv_csv(out, src)
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    back = read_ohlcv_csv(out)
    for col in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(src, col), getattr(back, col))


def test_reads_gzip_written_by_others(ohlcv_dir: Path, tmp_path: Path) -> None:
    gz = tmp_path / "bittrex_ETH_BTC-5m.csv.gz"
    with open(ohlcv_dir / "bittrex_ETH_BTC-5m.csv", "rb") as fin, gzip.open(gz, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    assert len(read_ohlcv_csv(gz)) == 5760


def test_unsorted_rows_are_sorted_and_exact_duplicates_dropped(ohlcv_dir: Path, tmp_path: Path) -> None:
    lines = (ohlcv_dir / "bittrex_ETH_BTC-5m.csv").read_text().splitlines()
    body = lines[1:]
    shuffled = body[::-1] + body[:10]  # reversed plus 10 exact repeats
    p = tmp_path / "shuffled.csv"
    p.write_text(HEADER + "\n".join(shuffled) + "\n")
    o = read_ohlcv_csv(p)
    assert len(o) == len(body)
    assert bool(np.all(np.diff(o.ts) > 0))
    assert o.close[0] == float(body[0].split(",")[4])


def _corrupt(tmp_path: Path, ohlcv_dir: Path, line_no: int, new_line: str) -> Path:
    lines = (ohlcv_dir / "bittrex_ETC_BTC-5m.csv").read_text().splitlines()
    lines[line_no - 1] = new_line
    p = tmp_path / "bittrex_ETC_BTC-5m.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize(
    ("line", "text", "message"),
    [
        (1, "time,o,h,l,c,v", "line 1: bad header"),
        (120, "1515742800000,0.00213,abc,0.00212,0.00213,10", "line 120: high 'abc' is not a number"),
        (3000, "1516531200000,0.00213,0.00214,0.00212,0.00213", "line 3000: expected 6 fields, got 5"),
        (77, "1515.5,0.00213,0.00214,0.00212,0.00213,1", "line 77: timestamp '1515.5' is not an integer"),
        (5, "1515560100,0.00213,0.00214,0.00212,0.00213,1", "line 5: timestamp 1515560100 looks like sec"),
        (9, "1515562500000,,0.00214,0.00212,0.00213,1", "line 9: open is empty"),
        (10, "1515562800000,0.00213,0.00214,0.00212,NaN,1", "line 10: close is NaN"),
    ],
)
def test_malformed_csv_names_file_line_and_problem(
    tmp_path: Path, ohlcv_dir: Path, line: int, text: str, message: str
) -> None:
    p = _corrupt(tmp_path, ohlcv_dir, line, text)
    with pytest.raises(DataError) as err:
        read_ohlcv_csv(p)
    msg = str(err.value)
    assert str(p) in msg
    assert message in msg
    assert "\n" not in msg


def test_conflicting_duplicate_timestamps_name_both_lines(tmp_path: Path, ohlcv_dir: Path) -> None:
    lines = (ohlcv_dir / "bittrex_ETC_BTC-5m.csv").read_text().splitlines()
    ts, o, h, low, c, v = lines[50].split(",")
    lines.insert(200, ",".join([ts, o, h, low, c, str(float(v) + 1)]))  # same ts, other volume
    p = tmp_path / "dup.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"lines 51, 201: timestamp \d+ appears 2 times with different"):
        read_ohlcv_csv(p)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty file"):
        read_ohlcv_csv(empty)
    with pytest.raises(DataError, match="file not found"):
        read_ohlcv_csv(tmp_path / "nope.csv")
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER)
    assert len(read_ohlcv_csv(header_only)) == 0
