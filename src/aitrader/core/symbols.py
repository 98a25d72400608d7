"""Symbols in ccxt's unified form (`BTC/USDT`, perpetual `BTC/USDT:USDT`) and data file names.

File names follow `../shared/data/ohlcv/`: `<exchange>_<BASE>_<QUOTE>-<tf>.csv[.gz]` for spot and
`<exchange>_<BASE>_<QUOTE>_<SETTLE>-<tf>-futures|mark.csv` for perpetuals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aitrader.core.errors import DataError

_NAME_RE = re.compile(
    r"^(?P<exchange>[a-z0-9]+)_(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)"
    r"(?:_(?P<settle>[A-Za-z0-9]+))?-(?P<tf>\d+[smhdwM])(?:-(?P<kind>futures|mark))?\.csv(?:\.gz)?$"
)


@dataclass(frozen=True, slots=True)
class DatasetName:
    """What a data file name says about its contents."""

    exchange: str
    symbol: str
    timeframe: str
    kind: str  # "spot", "futures" (last price) or "mark"


def make_symbol(base: str, quote: str, settle: str | None = None) -> str:
    return f"{base}/{quote}:{settle}" if settle else f"{base}/{quote}"


def split_symbol(symbol: str) -> tuple[str, str, str | None]:
    """`BTC/USDT:USDT` -> ('BTC', 'USDT', 'USDT'); raises DataError when not unified."""
    m = re.match(r"^([A-Za-z0-9]+)/([A-Za-z0-9]+)(?::([A-Za-z0-9]+))?$", symbol)
    if not m:
        raise DataError(f"invalid symbol {symbol!r}: expected BASE/QUOTE or BASE/QUOTE:SETTLE")
    return m.group(1), m.group(2), m.group(3)


def symbol_slug(symbol: str) -> str:
    """A file-system safe form: `BTC/USDT:USDT` -> `BTC_USDT_USDT`."""
    base, quote, settle = split_symbol(symbol)
    return "_".join(p for p in (base, quote, settle) if p)


def parse_dataset_name(path: str | Path) -> DatasetName:
    name = Path(path).name
    m = _NAME_RE.match(name)
    if not m:
        raise DataError(
            f"{name}: file name not understood; expected <exchange>_<BASE>_<QUOTE>-<tf>.csv "
            f"or <exchange>_<BASE>_<QUOTE>_<SETTLE>-<tf>-futures.csv or ...-<tf>-mark.csv (each also .csv.gz)"
        )
    settle = m.group("settle")
    kind = m.group("kind") or ("futures" if settle else "spot")
    return DatasetName(
        exchange=m.group("exchange"),
        symbol=make_symbol(m.group("base"), m.group("quote"), settle),
        timeframe=m.group("tf"),
        kind=kind,
    )
