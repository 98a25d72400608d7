"""Reference mode: every signal of one strategy, fixed stake, market fills at the next open, no stops.

Why this exists next to the event engine: it is the yardstick. With no stops, no risk sizing and one
position per pair, the trades follow from the signal arrays alone, so they are computed with a few numpy
passes (no per-candle or per-trade Python). That makes it (1) the mode the vectorbt cross-check and
the speed benchmark run, and (2) an oracle for the event engine, which must produce the same trades
when configured the same way (tests/engine/test_engine_matches_reference.py).

Rules (also in docs/architecture.md):
- direction[t] = +1 at the close of bar t opens a long at open[t+1] when flat; -1 closes it at
  open[t+1]; signals while already in that state are ignored; an entry signal on the last bar cannot
  fill and is dropped.
- amount = stake / entry price; fee = rate x notional on each side; pnl = amount x (exit - entry) - fees.
- a position still open after the last candle is closed at the last candle's close ("end_of_data"),
  with the exit fee charged like any other exit.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from aitrader.backtest.trades import TradeTable
from aitrader.core.candles import OHLCV, IntArray

Int8Array = npt.NDArray[np.int8]


def pair_signals(direction: Int8Array) -> tuple[IntArray, IntArray]:
    """Bars whose signal opens (entries) and closes (exits) a position, following the rules above.

    `exits[k]` belongs to `entries[k]`; it is -1 for a position still open at the end.
    """
    n = len(direction)
    nz = np.flatnonzero(direction)
    d = direction[nz]
    if len(d):
        # only a change of signal matters: +1 while long and -1 while flat do nothing
        keep = np.empty(len(d), dtype=np.bool_)
        keep[0] = d[0] > 0
        keep[1:] = d[1:] != d[:-1]
        nz, d = nz[keep], d[keep]
    entries = nz[d > 0].astype(np.int64)
    exits = nz[d < 0].astype(np.int64)
    if len(entries) and entries[-1] >= n - 1:
        entries = entries[:-1]  # no candle left to fill it; its exit (if any) cannot exist either
    out_exits = np.full(len(entries), -1, dtype=np.int64)
    m = min(len(entries), len(exits))
    out_exits[:m] = exits[:m]
    return entries, out_exits


def reference_trades(
    candles: OHLCV,
    direction: Int8Array,
    stake: float,
    fee_rate: float,
    pair: str,
    strategy: str,
) -> TradeTable:
    """All round trips of one pair in reference mode (see the module docstring)."""
    n = len(candles)
    if len(direction) != n:
        raise ValueError(f"{len(direction)} signals for {n} candles")
    entries, exits = pair_signals(direction)
    k = len(entries)
    entry_fill = entries + 1
    at_end = (exits < 0) | (exits >= n - 1)
    exit_fill = np.where(at_end, n - 1, exits + 1)
    entry_price = candles.open[entry_fill]
    exit_price = np.where(at_end, candles.close[n - 1] if n else np.nan, candles.open[exit_fill])
    amount = stake / entry_price
    fee = fee_rate * amount * entry_price + fee_rate * amount * exit_price
    pnl = amount * (exit_price - entry_price) - fee
    return TradeTable(
        pair=np.full(k, pair, dtype=object),
        strategy=np.full(k, strategy, dtype=object),
        entry_time=candles.ts[entry_fill].astype(np.int64),
        exit_time=candles.ts[exit_fill].astype(np.int64),
        entry_price=entry_price,
        exit_price=exit_price,
        amount=amount,
        fee=fee,
        pnl=pnl,
        exit_reason=np.where(at_end, "end_of_data", "exit_signal").astype(object),
    )
