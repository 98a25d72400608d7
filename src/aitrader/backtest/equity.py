"""Equity curve from trades and candles, vectorised: mark-to-market at every candle close.

Why from trades and not from the engine loop: the event loop visits only candles where something
happens, so it never sees most closes. One position per pair at a time means the held amount and cost
basis of a pair are step functions of time (a +/- at entry and exit, then a cumulative sum), so the
whole curve is a few numpy passes for any number of candles.

Grid: the union of all pairs' candle open times; equity[t] is valued at the close of bar t.
A trade entered at the open of bar e and exited at the open of bar x is held over the closes of
bars e..x-1 and realised from bar x on (an `end_of_data` exit at the close of bar x is realised at x,
which is the same value). The entry fee is charged while held (fees are split between the sides in
proportion to their notional, which is exact for one fee rate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from aitrader.backtest.trades import TradeTable
from aitrader.core.candles import OHLCV, FloatArray, IntArray


@dataclass(frozen=True, slots=True)
class EquityCurve:
    ts: IntArray  # candle open times of the grid
    equity: FloatArray  # at each bar's close
    exposure: FloatArray  # quote value held in positions at each close
    starting_balance: float

    @property
    def drawdown(self) -> FloatArray:
        """equity / running peak - 1 (<= 0), the starting balance counting as the first peak."""
        peak = np.maximum.accumulate(np.maximum(self.equity, self.starting_balance))
        out: FloatArray = self.equity / peak - 1.0
        return out


def equity_curve(trades: TradeTable, candles: Mapping[str, OHLCV], starting_balance: float) -> EquityCurve:
    arrays = [c.ts for c in candles.values() if len(c)]
    grid = np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)
    m = len(grid)
    realised = np.zeros(m + 1)
    unrealised = np.zeros(m)
    exposure = np.zeros(m)
    if len(trades) and m:
        entry_i = np.searchsorted(grid, trades.entry_time)
        exit_i = np.searchsorted(grid, trades.exit_time)
        np.add.at(realised, exit_i, trades.pnl)
        entry_fee = trades.fee * trades.entry_price / (trades.entry_price + trades.exit_price)
        basis = trades.amount * trades.entry_price + entry_fee
        for pair, c in candles.items():
            sel = trades.pair == pair
            if not sel.any():
                continue
            held = np.zeros(m + 1)
            cost = np.zeros(m + 1)
            np.add.at(held, entry_i[sel], trades.amount[sel])
            np.add.at(held, exit_i[sel], -trades.amount[sel])
            np.add.at(cost, entry_i[sel], basis[sel])
            np.add.at(cost, exit_i[sel], -basis[sel])
            held_t = np.cumsum(held)[:m]
            cost_t = np.cumsum(cost)[:m]
            k = np.searchsorted(c.ts, grid, "right") - 1
            close = np.where(k >= 0, c.close[np.maximum(k, 0)], 0.0)
            value = held_t * close
            unrealised += np.where(np.abs(held_t) > 1e-12, value - cost_t, 0.0)
            exposure += np.where(np.abs(held_t) > 1e-12, value, 0.0)
    equity = starting_balance + np.cumsum(realised)[:m] + unrealised
    return EquityCurve(grid, equity, exposure, starting_balance)
