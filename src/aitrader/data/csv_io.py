"""Read and write candles in the shared CSV format (`timestamp,open,high,low,close,volume`).

Why pyarrow: its multi-threaded C++ reader parses 1M rows in about a tenth of a second. It reports
*what* is wrong but not *where*, so when it (or one of our checks) fails we re-scan the file with the
`csv` module to name the exact line and field: the slow path runs only for files that are broken.

Format (see /work/shared/data/README.md): `timestamp` = candle open time, integer epoch milliseconds
UTC; prices and volume plain decimals; an empty `volume` means "no volume" (mark-price candles) and
becomes NaN. `.csv.gz` is read and written transparently. Unsorted rows are sorted; a timestamp that
appears twice with identical values is kept once, with different values it is an error (we never
guess which one is right).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.errors import DataError

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
_TYPES = {"timestamp": pa.int64(), **{c: pa.float64() for c in COLUMNS[1:]}}
# below 1e11 an epoch-ms value is before 1973: almost surely seconds; above 1e14 (year 5138) microseconds
_MIN_MS, _MAX_MS = 10**11, 10**14


def _open_text(path: Path) -> io.TextIOWrapper:
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _check_header(path: Path) -> None:
    try:
        with _open_text(path) as fh:
            first = fh.readline()
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read file: {e}") from None
    if not first.strip():
        raise DataError(f"{path}: empty file (expected header {','.join(COLUMNS)})")
    got = tuple(h.strip().lower() for h in first.strip().split(","))
    if got != COLUMNS:
        raise DataError(f"{path} line 1: bad header {first.strip()!r}; expected {','.join(COLUMNS)}")


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every non-blank data row, with real 1-based line numbers."""
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                yield reader.line_num, fields


def _row_problem(fields: list[str]) -> str | None:
    if len(fields) != len(COLUMNS):
        return f"expected {len(COLUMNS)} fields, got {len(fields)}"
    ts = fields[0].strip()
    try:
        ms = int(ts)
    except ValueError:
        return f"timestamp {ts!r} is not an integer (epoch milliseconds)"
    if ms < _MIN_MS:
        return f"timestamp {ms} looks like seconds, expected epoch milliseconds"
    if ms >= _MAX_MS:
        return f"timestamp {ms} looks like microseconds, expected epoch milliseconds"
    for name, text in zip(COLUMNS[1:], fields[1:], strict=True):
        t = text.strip()
        if not t:
            if name == "volume":
                continue
            return f"{name} is empty"
        try:
            value = float(t)
        except ValueError:
            return f"{name} {t!r} is not a number"
        if math.isnan(value) and name != "volume":
            return f"{name} is NaN"
    return None


def _locate(path: Path, fallback: str) -> DataError:
    """Scan the file slowly to name the first bad line; `fallback` describes the problem otherwise."""
    try:
        for line, fields in _rows(path):
            problem = _row_problem(fields)
            if problem:
                return DataError(f"{path} line {line}: {problem}")
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
        return DataError(f"{path}: cannot read file: {e}")
    return DataError(f"{path}: {fallback}")


def _lines_of_timestamp(path: Path, ts: int) -> list[int]:
    return [line for line, fields in _rows(path) if fields[0].strip() == str(ts)]


def read_ohlcv_csv(path: str | Path) -> OHLCV:
    """Read a `.csv`/`.csv.gz` candle file; raises DataError naming file, line and problem."""
    return read_ohlcv_csv_counted(path)[0]


def read_ohlcv_csv_counted(path: str | Path) -> tuple[OHLCV, int]:
    """`read_ohlcv_csv` plus how many exact duplicate rows were dropped, so an import can say so.

    A timestamp repeated with *identical* values is the same candle recorded twice (a download
    overlap); it is kept once. Repeated with different values it is a conflict: DataError.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    _check_header(p)
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(column_names=list(COLUMNS), skip_rows=1, encoding="utf8"),
            convert_options=pacsv.ConvertOptions(column_types=_TYPES, strings_can_be_null=False),
        )
    except pa.ArrowInvalid as e:
        raise _locate(p, str(e).splitlines()[0]) from None
    except (OSError, EOFError) as e:
        raise DataError(f"{p}: cannot read file: {e}") from None

    for name in COLUMNS[:-1]:
        if table.column(name).null_count:
            raise _locate(p, f"empty or NaN {name} value") from None
    ts = table.column("timestamp").to_numpy()
    if len(ts) and (ts.min() < _MIN_MS or ts.max() >= _MAX_MS):
        raise _locate(p, "timestamps are not epoch milliseconds")
    cols = [np.asarray(table.column(c).to_numpy(zero_copy_only=False), np.float64) for c in COLUMNS[1:]]
    for name, col in zip(PRICE_COLUMNS, cols, strict=False):
        if np.isnan(col).any():  # literal "NaN" text is read as NaN, not null
            raise _locate(p, f"NaN {name} value")
    ohlcv = OHLCV.from_arrays(ts, *cols)
    del table, ts, cols
    pa.default_memory_pool().release_unused()  # give the parse buffers back instead of pooling them
    return _sorted_unique(ohlcv, p)


def _sorted_unique(ohlcv: OHLCV, path: Path) -> tuple[OHLCV, int]:
    ts = ohlcv.ts
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return ohlcv, 0
    order = np.argsort(ts, kind="stable")
    cols = [c[order] for c in (ohlcv.ts, ohlcv.open, ohlcv.high, ohlcv.low, ohlcv.close, ohlcv.volume)]
    dup = np.flatnonzero(cols[0][1:] == cols[0][:-1]) + 1  # second of each equal pair
    if len(dup):
        for c in cols[1:]:
            a, b = c[dup], c[dup - 1]
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            if not same.all():
                bad = int(cols[0][dup[np.argmin(same)]])
                lines = _lines_of_timestamp(path, bad)
                raise DataError(
                    f"{path} lines {', '.join(map(str, lines))}: timestamp {bad} appears "
                    f"{len(lines)} times with different values"
                )
        keep = np.ones(len(cols[0]), dtype=bool)
        keep[dup] = False
        cols = [c[keep] for c in cols]
    return OHLCV.from_arrays(*cols), len(dup)


def _plain_decimals(values: FloatArray, nan_as_empty: bool = False) -> pa.Array:
    """Shortest round-trip text without exponent (`0.00000001`, not `1e-8`), as the format asks.

    Arrow's float->string cast is shortest round-trip but switches to exponent notation for tiny
    and huge values; only those (rare) entries are re-formatted in Python.
    """
    arr = pa.array(values, pa.float64(), mask=np.isnan(values) if nan_as_empty else None)
    text = pc.cast(arr, pa.string())
    has_exp = np.asarray(pc.fill_null(pc.match_substring(text, "e"), False))
    if not has_exp.any():
        return text
    out = text.to_numpy(zero_copy_only=False).astype(object)
    for i in np.flatnonzero(has_exp):
        out[i] = np.format_float_positional(values[i], unique=True, trim="-")
    return pa.array(out, pa.string())


def write_ohlcv_csv(path: str | Path, ohlcv: OHLCV) -> None:
    """Write candles in the shared format (gzip when the name ends in `.gz`), atomically.

    Floats are written as the shortest text that reads back to the same double (so a round trip
    is exact); NaN volume is written as an empty field, as the format asks for mark candles.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "timestamp": pa.array(ohlcv.ts, pa.int64()),
            "open": _plain_decimals(ohlcv.open),
            "high": _plain_decimals(ohlcv.high),
            "low": _plain_decimals(ohlcv.low),
            "close": _plain_decimals(ohlcv.close),
            "volume": _plain_decimals(ohlcv.volume, nan_as_empty=True),
        }
    )
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    os.close(fd)
    try:
        # pyarrow quotes header names whatever the quoting style, so the header is written by hand
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        header = (",".join(COLUMNS) + "\n").encode()
        sink = pa.CompressedOutputStream(tmp, "gzip") if p.name.endswith(".gz") else pa.OSFile(tmp, "wb")
        with sink as out:
            out.write(header)
            pacsv.write_csv(table, out, options)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
