"""Time conventions: integer epoch milliseconds UTC inside, ISO-8601 only at the edges.

A candle's timestamp is its *open* time; a candle is usable only once `open + timeframe` has passed.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from aitrader.core.errors import AitraderError

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

_UNIT_MS = {"s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": WEEK_MS}
_TF_RE = re.compile(r"^(\d+)([smhdw])$")


def timeframe_to_ms(timeframe: str) -> int:
    """`'5m'` -> 300000. Raises AitraderError for anything ccxt would not understand."""
    match = _TF_RE.match(timeframe.strip())
    if not match or int(match.group(1)) <= 0:
        raise AitraderError(f"invalid timeframe {timeframe!r}: expected e.g. 1m, 5m, 1h, 4h, 1d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def now_ms() -> int:
    """Wall-clock time as epoch ms UTC."""
    return time.time_ns() // 1_000_000


def ms_to_iso(ms: int) -> str:
    """Epoch ms -> `2024-01-01T00:00:00Z` (milliseconds shown only when non-zero)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    """Parse a human date/time into epoch ms UTC.

    Accepts epoch ms digits (13+ digits), `YYYYMMDD`, `YYYY-MM-DD` and ISO-8601 date-times;
    naive times are taken as UTC.
    """
    s = text.strip()
    if s.isdigit() and len(s) >= 11:
        return int(s)
    try:
        if s.isdigit() and len(s) == 8:
            dt = datetime.strptime(s, "%Y%m%d")
        else:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise AitraderError(
            f"invalid date {text!r}: use YYYY-MM-DD, YYYYMMDD, ISO-8601 or epoch milliseconds"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_timerange(text: str) -> tuple[int | None, int | None]:
    """`20240101-20240301` -> (start_ms, end_ms); either side may be empty (`20240101-`).

    ISO dates, which contain dashes themselves, use `..` as the separator: `2024-01-01..2024-03-01`.
    """
    if ".." in text:
        a, b = text.split("..", 1)
    elif re.match(r"^(\d{8}|\d{11,})?-(\d{8}|\d{11,})?$", text.strip()):
        a, b = text.strip().split("-", 1)
    else:
        raise AitraderError(f"invalid timerange {text!r}: expected START-END, e.g. 20240101-20240301")
    start = parse_time(a) if a.strip() else None
    end = parse_time(b) if b.strip() else None
    if start is not None and end is not None and end <= start:
        raise AitraderError(f"invalid timerange {text!r}: end is not after start")
    return start, end


def floor_ms(ts: int, step_ms: int) -> int:
    """Start of the `step_ms` bucket that holds `ts` (buckets aligned to the epoch, as exchanges do)."""
    return ts - ts % step_ms
