"""`HistoryStore`: candles on disk as Parquet, one file per exchange / pair / timeframe / kind.

Layout (mirrors the CSV names of the shared data, so a file tells what it holds at a glance):

    <datadir>/<exchange>/<BASE>_<QUOTE>[_<SETTLE>]-<timeframe>[-futures|-mark].parquet

`kind` is `spot` (no suffix), `futures` (last-price perpetual candles) or `mark` (mark-price
candles). Columns: `timestamp` int64 epoch ms (candle open time, sorted, unique), `open`, `high`,
`low`, `close`, `volume` float64 (NaN volume = none, for mark candles). The exchange, symbol,
timeframe and kind are also stored in the file's key-value metadata.

Why one plain file per dataset rather than a partitioned dataset: a backtest reads whole pairs at
once (1M candles ~ 48 MB, read in tens of ms), and appends are rare and batched. Files are
written in row groups of `row_group_rows` candles with min/max statistics on `timestamp`, so a
range read only decodes the row groups that overlap it (predicate pushdown), and `datasets()`
reads only footers.

Writes are merge + atomic replace: read the existing file, append the new candles, sort, keep
the *last* value per timestamp, write a temporary file in the same directory, fsync and
`os.replace` it over the old one. A crash leaves either the old file or the new one, never a
half-written one. An advisory lock per dataset (`fcntl.flock`) serialises concurrent writers so
two downloads of the same pair cannot lose each other's candles.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aitrader.core.candles import OHLCV, IntArray
from aitrader.core.errors import DataError
from aitrader.core.symbols import make_symbol, symbol_slug
from aitrader.core.time import timeframe_to_ms

KINDS = ("spot", "futures", "mark")
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
SCHEMA = pa.schema(
    [pa.field("timestamp", pa.int64(), nullable=False)]
    + [pa.field(c, pa.float64(), nullable=False) for c in COLUMNS[1:]]
)
_FILE_RE = re.compile(
    r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)(?:_(?P<settle>[A-Za-z0-9]+))?"
    r"-(?P<tf>\d+[smhdw])(?:-(?P<kind>futures|mark))?\.parquet$"
)
_EXCHANGE_RE = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What the store holds for one dataset; `first`/`last` are candle open times in epoch ms."""

    exchange: str
    symbol: str
    timeframe: str
    kind: str
    first: int | None
    last: int | None
    rows: int
    path: Path


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DataError(f"invalid data kind {kind!r}: expected one of {', '.join(KINDS)}")


def _check_exchange(exchange: str) -> None:
    if not _EXCHANGE_RE.match(exchange):
        raise DataError(f"invalid exchange id {exchange!r}: expected lower-case letters and digits")


class HistoryStore:
    """Parquet candle store rooted at `datadir` (created on first write)."""

    def __init__(self, datadir: str | Path, row_group_rows: int = 65_536) -> None:
        self.datadir = Path(datadir)
        self.row_group_rows = row_group_rows

    # ---- paths -------------------------------------------------------------------------------

    def path(self, exchange: str, symbol: str, timeframe: str, kind: str = "spot") -> Path:
        """The file that holds (or will hold) this dataset."""
        _check_exchange(exchange)
        _check_kind(kind)
        timeframe_to_ms(timeframe)
        suffix = "" if kind == "spot" else f"-{kind}"
        return self.datadir / exchange / f"{symbol_slug(symbol)}-{timeframe}{suffix}.parquet"

    @contextmanager
    def _lock(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ---- writing -----------------------------------------------------------------------------

    def write(self, exchange: str, symbol: str, timeframe: str, ohlcv: OHLCV, kind: str = "spot") -> int:
        """Merge `ohlcv` into the dataset; returns how many timestamps were not there before.

        Candles whose timestamp already exists replace the stored ones (last write wins); the
        result stays sorted and unique. Within `ohlcv` itself a later row wins over an earlier one.
        """
        path = self.path(exchange, symbol, timeframe, kind)
        if len(ohlcv) == 0:
            return 0
        with self._lock(path):
            old = self._read_file(path, None, None) if path.exists() else OHLCV.empty()
            merged = _merge(old, ohlcv)
            added = len(merged) - len(old)
            meta = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "kind": kind}
            self._atomic_write(path, merged, meta)
        return added

    def _atomic_write(self, path: Path, ohlcv: OHLCV, meta: dict[str, str]) -> None:
        table = pa.Table.from_arrays(
            [ohlcv.ts, ohlcv.open, ohlcv.high, ohlcv.low, ohlcv.close, ohlcv.volume],
            schema=SCHEMA.with_metadata({f"aitrader.{k}": v for k, v in meta.items()}),
        )
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                pq.write_table(
                    table,
                    fh,
                    row_group_size=self.row_group_rows,
                    compression="snappy",
                    # dictionaries never pay off for prices (unique values) and cost 10x write time;
                    # delta encoding shrinks the regular timestamp grid to almost nothing
                    use_dictionary=False,
                    column_encoding={"timestamp": "DELTA_BINARY_PACKED"},
                    write_statistics=["timestamp"],
                    sorting_columns=[pq.SortingColumn(0)],
                )
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)

    # ---- reading -----------------------------------------------------------------------------

    def read(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        kind: str = "spot",
    ) -> OHLCV:
        """Candles with `start_ms <= ts < end_ms` (either bound optional); DataError if absent."""
        path = self.path(exchange, symbol, timeframe, kind)
        if not path.exists():
            raise DataError(
                f"no {kind} data for {exchange} {symbol} {timeframe} in {self.datadir} "
                f"(import or download it first)"
            )
        return self._read_file(path, start_ms, end_ms)

    def _read_file(self, path: Path, start_ms: int | None, end_ms: int | None) -> OHLCV:
        try:
            pf = pq.ParquetFile(path, memory_map=True)
            groups = plan_row_groups(pf.metadata, start_ms, end_ms)
            if len(groups) == pf.metadata.num_row_groups:
                table = pf.read(columns=list(COLUMNS), use_threads=True)
            else:
                table = pf.read_row_groups(groups, columns=list(COLUMNS), use_threads=True)
        except (OSError, pa.ArrowException) as e:
            raise DataError(f"{path}: unreadable Parquet file: {e}") from None
        if table.num_rows == 0:
            return OHLCV.empty()
        cols = [table.column(c).to_numpy() for c in COLUMNS]
        return OHLCV.from_arrays(*cols).between(start_ms, end_ms)

    def info(self, exchange: str, symbol: str, timeframe: str, kind: str = "spot") -> DatasetInfo | None:
        """Range and row count of one dataset from its footer; None when it does not exist."""
        path = self.path(exchange, symbol, timeframe, kind)
        return _info(path, self.datadir) if path.exists() else None

    def last_ts(self, exchange: str, symbol: str, timeframe: str, kind: str = "spot") -> int | None:
        """Open time of the newest stored candle, None when there is none (footer only)."""
        found = self.info(exchange, symbol, timeframe, kind)
        return found.last if found else None

    def has(self, exchange: str, symbol: str, timeframe: str, kind: str = "spot") -> bool:
        return self.path(exchange, symbol, timeframe, kind).exists()

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset in the store, sorted by exchange/symbol/timeframe/kind; reads footers only."""
        if not self.datadir.is_dir():
            return []
        out = [
            _info(p, self.datadir)
            for p in self.datadir.glob("*/*.parquet")
            if not p.name.startswith(".") and _FILE_RE.match(p.name)
        ]
        return sorted(out, key=lambda d: (d.exchange, d.symbol, timeframe_to_ms(d.timeframe), d.kind))


def plan_row_groups(meta: pq.FileMetaData, start_ms: int | None, end_ms: int | None) -> list[int]:
    """Indexes of row groups whose `timestamp` min/max can overlap [start_ms, end_ms)."""
    out = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(0).statistics
        if stats is None or not stats.has_min_max:
            out.append(i)
            continue
        if start_ms is not None and stats.max < start_ms:
            continue
        if end_ms is not None and stats.min >= end_ms:
            continue
        out.append(i)
    return out


def _info(path: Path, datadir: Path) -> DatasetInfo:
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"{path}: unreadable Parquet file: {e}") from None
    kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}
    m = _FILE_RE.match(path.name)
    if m is None:  # pragma: no cover - callers filter names
        raise DataError(f"{path}: not a store file name")
    first: int | None = None
    last: int | None = None
    for i in range(meta.num_row_groups):
        st = meta.row_group(i).column(0).statistics
        if st is not None and st.has_min_max and meta.row_group(i).num_rows:
            first = st.min if first is None else min(first, st.min)
            last = st.max if last is None else max(last, st.max)
    return DatasetInfo(
        exchange=kv.get("aitrader.exchange", path.parent.name),
        symbol=kv.get("aitrader.symbol", make_symbol(m["base"], m["quote"], m["settle"])),
        timeframe=kv.get("aitrader.timeframe", str(m["tf"])),
        kind=kv.get("aitrader.kind", str(m["kind"] or "spot")),
        first=first,
        last=last,
        rows=meta.num_rows,
        path=path,
    )


_FIELDS = ("ts", "open", "high", "low", "close", "volume")


def _merge(old: OHLCV, new: OHLCV) -> OHLCV:
    """old + new, sorted by ts, one row per ts, the last occurrence (new over old) winning."""
    if len(new) == 0:
        return old
    if len(old) == 0 and _strictly_increasing(new.ts):
        return new
    if len(old) and _strictly_increasing(new.ts) and new.ts[0] > old.ts[0]:
        # the usual download case: new candles overlap only the tail; leave the head untouched
        cut = int(np.searchsorted(old.ts, new.ts[0], "left"))
        tail = _merge_sort(old.slice(cut), new)
        head = old.slice(0, cut)
        return OHLCV.from_arrays(*(np.concatenate([getattr(head, c), getattr(tail, c)]) for c in _FIELDS))
    return _merge_sort(old, new)


def _merge_sort(old: OHLCV, new: OHLCV) -> OHLCV:
    cols = [np.concatenate([getattr(old, c), getattr(new, c)]) for c in _FIELDS]
    n = len(cols[0])
    # sort by ts, and among equal ts by position descending, so the last occurrence comes first
    order = np.lexsort((-np.arange(n), cols[0]))
    ts_sorted = cols[0][order]
    keep = np.ones(n, dtype=bool)
    keep[1:] = ts_sorted[1:] != ts_sorted[:-1]
    idx = order[keep]
    return OHLCV.from_arrays(*(c[idx] for c in cols))


def _strictly_increasing(ts: IntArray) -> bool:
    return len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1]))
