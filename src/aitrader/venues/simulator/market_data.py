"""Candle series the simulator replays: real candles from CSV, indexed by open time.

Why keep the raw text of every value: Kraken sends prices as decimal strings, and replaying the very
text of the source file means a client that downloads the series gets back exactly the source rows
(a float round trip could not promise that). Floats are kept alongside for matching and aggregation.
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aitrader.core.errors import DataError
from aitrader.core.symbols import parse_dataset_name, split_symbol
from aitrader.core.time import timeframe_to_ms


@dataclass(frozen=True, slots=True)
class Row:
    """One candle as the file spells it (`ts` epoch ms open time)."""

    ts: int
    open: str
    high: str
    low: str
    close: str
    volume: str

    def dec(self, name: str) -> Decimal:
        return Decimal(getattr(self, name))


@dataclass(slots=True)
class Series:
    """Candles of one pair, sorted by open time; `symbol` is the unified spot symbol served."""

    symbol: str
    timeframe: str
    rows: list[Row]
    tf_ms: int = 0
    ts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tf_ms = timeframe_to_ms(self.timeframe)
        self.ts = [r.ts for r in self.rows]
        if any(b <= a for a, b in zip(self.ts, self.ts[1:], strict=False)):
            raise DataError(f"{self.symbol}: candle timestamps are not strictly increasing")

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def price_decimals(self) -> int:
        """Most decimals any price of the file has (the replayed market's tick)."""
        most = 0
        for r in self.rows:
            for v in (r.open, r.high, r.low, r.close):
                exp = Decimal(v).normalize().as_tuple().exponent
                most = max(most, -exp if isinstance(exp, int) else 0)
        return most

    def started(self, now_ms: int) -> int:
        """How many candles have opened by `now_ms` (open time <= now)."""
        return bisect.bisect_right(self.ts, now_ms)

    def closed(self, now_ms: int) -> int:
        """How many candles are complete at `now_ms` (open + timeframe <= now)."""
        return bisect.bisect_right(self.ts, now_ms - self.tf_ms)

    def first_after(self, ts_ms: int) -> int:
        """Index of the first candle whose open time is > ts_ms."""
        return bisect.bisect_right(self.ts, ts_ms)

    def price_at(self, now_ms: int) -> Decimal | None:
        """The market price at `now_ms`: open of the forming candle, else the last close, else None."""
        n = self.started(now_ms)
        if n == 0:
            return None
        row = self.rows[n - 1]
        return row.dec("open") if row.ts + self.tf_ms > now_ms else row.dec("close")


def load_series(path: str | Path, symbol: str | None = None) -> Series:
    """Read `<exchange>_<BASE>_<QUOTE>[_<SETTLE>]-<tf>[...].csv`; perpetual files are served as spot.

    `symbol` overrides the pair the file name implies (e.g. to list UNITTEST/BTC as ETC/BTC).
    """
    p = Path(path)
    meta = parse_dataset_name(p)
    base, quote, _settle = split_symbol(symbol or meta.symbol)
    rows: list[Row] = []
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:6]] != [
            "timestamp",
            "open",
            "high",
            "low",
            "close",
            "volume",
        ]:
            raise DataError(f"{p}: expected header timestamp,open,high,low,close,volume")
        for lineno, rec in enumerate(reader, start=2):
            if not rec:
                continue
            try:
                ts = int(rec[0])
                vals = [Decimal(v) for v in rec[1:5]]
            except (ValueError, ArithmeticError, IndexError):
                raise DataError(f"{p}:{lineno}: not a candle row: {','.join(rec)}") from None
            if min(vals) <= 0:
                raise DataError(f"{p}:{lineno}: non-positive price")
            volume = rec[5] if len(rec) > 5 and rec[5] != "" else "0"
            rows.append(Row(ts, rec[1], rec[2], rec[3], rec[4], volume))
    if not rows:
        raise DataError(f"{p}: no candles")
    return Series(f"{base}/{quote}", meta.timeframe, rows)
