"""Order-book and trade-flow context per bar, which nudges confluence confidence when present.

* Trade-flow imbalance of bar t = (buy - sell) / (buy + sell) taker volume of the trades inside
  [ts_t, ts_t + timeframe): known at the bar's close, so no lookahead. When the exchange does not
  report the taker side (Kraken's trade export), sides are inferred with the tick rule (uptick = buy,
  downtick = sell, unchanged = previous side) and `flow_method` says so.
* Order-book imbalance = (bid depth - ask depth) / (bid depth + ask depth) over the top levels of a
  snapshot taken at the bar's close; spread in basis points of the mid price. Live only (the bundled
  data has no book history): `from_book` makes a one-bar Microstructure for the newest bar.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray, IntArray
from aitrader.core.errors import DataError
from aitrader.strategies.timeframes import tf_ms

TAKER_SIDE = "taker side"
TICK_RULE = "tick rule (no taker side in the data)"


@dataclass(frozen=True, slots=True)
class Trades:
    """Public trades in time order; side +1 buy, -1 sell, 0 unknown (taker side)."""

    ts: IntArray
    side: npt.NDArray[np.int8]
    price: FloatArray
    amount: FloatArray

    def __len__(self) -> int:
        return len(self.ts)


def load_trades_csv(path: str | Path) -> Trades:
    """Read `timestamp,id,side,price,amount` (sample_data/trades); empty side means unknown."""
    p = Path(path)
    ts: list[int] = []
    side: list[int] = []
    price: list[float] = []
    amount: list[float] = []
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"timestamp", "side", "price", "amount"} <= set(
                reader.fieldnames
            ):
                raise DataError(f"{p}: expected header timestamp,id,side,price,amount")
            for line, row in enumerate(reader, start=2):
                try:
                    ts.append(int(row["timestamp"]))
                    price.append(float(row["price"]))
                    amount.append(float(row["amount"]))
                except (TypeError, ValueError):
                    raise DataError(f"{p}, line {line}: malformed trade {row}") from None
                s = (row["side"] or "").strip().lower()
                side.append(1 if s == "buy" else -1 if s == "sell" else 0)
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror}") from None
    return Trades(
        np.array(ts, dtype=np.int64), np.array(side, dtype=np.int8), np.array(price), np.array(amount)
    )


def tick_rule(price: FloatArray) -> npt.NDArray[np.int8]:
    """Uptick = buy (+1), downtick = sell (-1), zero tick = previous side; 0 before the first move."""
    step = np.sign(np.diff(price, prepend=price[:1])).astype(np.int8)
    idx = np.where(step != 0, np.arange(len(price)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = step[idx]
    out[idx == 0] = 0  # no price move yet: side unknown
    return out.astype(np.int8)


def trade_flow(trades: Trades, bar_ts: IntArray, timeframe: str | int) -> tuple[FloatArray, str]:
    """Per-bar taker flow imbalance in [-1, 1] (NaN for bars without classified trades) and the method."""
    has_side = len(trades) > 0 and bool(np.all(trades.side != 0))
    side = trades.side if has_side else tick_rule(trades.price)
    bar = np.searchsorted(bar_ts, trades.ts, side="right") - 1
    inside = (bar >= 0) & (trades.ts < bar_ts[np.maximum(bar, 0)] + tf_ms(timeframe)) & (side != 0)
    signed = np.bincount(bar[inside], weights=trades.amount[inside] * side[inside], minlength=len(bar_ts))
    total = np.bincount(bar[inside], weights=trades.amount[inside], minlength=len(bar_ts))
    with np.errstate(invalid="ignore", divide="ignore"):
        imbalance = np.where(total > 0, signed / total, np.nan)
    return imbalance[: len(bar_ts)], TAKER_SIDE if has_side else TICK_RULE


def book_imbalance(
    bids: Sequence[tuple[float, float]], asks: Sequence[tuple[float, float]], levels: int = 10
) -> tuple[float, float]:
    """(imbalance in [-1, 1] over the top `levels`, spread in bps of mid) of one book snapshot."""
    if not bids or not asks:
        return float("nan"), float("nan")
    bid_depth = sum(q for _, q in bids[:levels])
    ask_depth = sum(q for _, q in asks[:levels])
    total = bid_depth + ask_depth
    imb = (bid_depth - ask_depth) / total if total > 0 else float("nan")
    best_bid, best_ask = bids[0][0], asks[0][0]
    mid = (best_bid + best_ask) / 2
    return imb, (best_ask - best_bid) / mid * 1e4 if mid > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class Microstructure:
    """Per-bar microstructure aligned by bar open time `ts`; NaN = unknown for that bar."""

    ts: IntArray
    flow_imbalance: FloatArray
    book_imbalance: FloatArray
    spread_bps: FloatArray
    flow_method: str = TAKER_SIDE

    @classmethod
    def from_trades(cls, trades: Trades, bar_ts: IntArray, timeframe: str | int) -> Microstructure:
        flow, method = trade_flow(trades, bar_ts, timeframe)
        nan = np.full(len(bar_ts), np.nan)
        return cls(np.asarray(bar_ts, dtype=np.int64), flow, nan, nan.copy(), method)

    @classmethod
    def from_book(
        cls,
        bar_ts: int,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        levels: int = 10,
    ) -> Microstructure:
        """One bar's book snapshot (taken at its close), e.g. from ccxt `watch_order_book`."""
        imb, spread = book_imbalance(bids, asks, levels)
        return cls(
            np.array([bar_ts], dtype=np.int64), np.array([np.nan]), np.array([imb]), np.array([spread])
        )

    def with_book(self, other: Microstructure) -> Microstructure:
        """This flow plus `other`'s book values on the bars both know."""
        pos = np.searchsorted(self.ts, other.ts)
        ok = (pos < len(self.ts)) & (self.ts[np.minimum(pos, len(self.ts) - 1)] == other.ts)
        book, spread = self.book_imbalance.copy(), self.spread_bps.copy()
        book[pos[ok]] = other.book_imbalance[ok]
        spread[pos[ok]] = other.spread_bps[ok]
        return replace(self, book_imbalance=book, spread_bps=spread)

    def align(self, bar_ts: IntArray) -> Microstructure:
        """Re-index onto `bar_ts` (NaN where this has no row)."""
        pos = np.searchsorted(self.ts, bar_ts)
        ok = (pos < len(self.ts)) & (self.ts[np.minimum(pos, max(len(self.ts) - 1, 0))] == bar_ts)
        if len(self.ts) == 0:
            ok[:] = False

        def pick(a: FloatArray) -> FloatArray:
            out = np.full(len(bar_ts), np.nan)
            out[ok] = a[pos[ok]]
            return out

        return Microstructure(
            np.asarray(bar_ts, dtype=np.int64),
            pick(self.flow_imbalance),
            pick(self.book_imbalance),
            pick(self.spread_bps),
            self.flow_method,
        )
