"""Performance statistics of a backtest (floats: statistics, not money).

Conventions (stated in reports and docs/architecture.md):
- Returns are per candle of the backtest timeframe, from the mark-to-market equity curve.
  Crypto trades around the clock, so a year has 365 x 24 h: periods per year = 365 days / timeframe
  (105,120 for 5m). Sharpe = mean / std (ddof 1) x sqrt(periods per year), risk-free rate 0.
  Sortino = mean / downside deviation (root mean square of the negative returns, zeros counted)
  x sqrt(periods per year).
- CAGR = (final / start) ^ (365 d / span) - 1, span = first candle open to last candle close.
  Calmar = CAGR / max drawdown.
- Max drawdown = largest fall from a running peak (starting balance is the first peak), as a
  fraction; its duration runs from that peak to the recovery of the peak (or the end of the data).
- Exposure = share of candles with at least one open position. Profit factor = gross profit / gross
  loss (None when nothing was lost). Expectancy = mean PnL per trade.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aitrader.backtest.equity import EquityCurve
from aitrader.backtest.trades import TradeTable
from aitrader.core.time import DAY_MS

YEAR_MS = 365 * DAY_MS


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def trade_stats(trades: TradeTable) -> dict[str, Any]:
    """Statistics of a set of trades alone (used for the whole run and per pair / strategy)."""
    pnl = trades.pnl
    n = len(pnl)
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    gross_loss = float(-losses.sum())
    return {
        "trades": n,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": float(len(wins) / n) if n else None,
        "profit": float(pnl.sum()),
        "profit_factor": float(wins.sum() / gross_loss) if gross_loss > 0 else None,
        "expectancy": float(pnl.mean()) if n else None,
        "avg_win": float(wins.mean()) if len(wins) else None,
        "avg_loss": float(losses.mean()) if len(losses) else None,
        "fees": float(trades.fee.sum()),
        "avg_duration_ms": float(np.mean(trades.exit_time - trades.entry_time)) if n else None,
    }


def drawdown_stats(curve: EquityCurve, timeframe_ms: int) -> dict[str, Any]:
    eq = curve.equity
    if len(eq) == 0:
        return {"max_drawdown": 0.0, "max_drawdown_duration_ms": 0, "max_drawdown_start": None,
                "max_drawdown_trough": None, "max_drawdown_end": None}
    dd = curve.drawdown
    trough = int(np.argmin(dd))
    if dd[trough] >= 0:
        return {"max_drawdown": 0.0, "max_drawdown_duration_ms": 0, "max_drawdown_start": None,
                "max_drawdown_trough": None, "max_drawdown_end": None}
    at_peak = dd >= 0
    before = np.flatnonzero(at_peak[: trough + 1])
    start_i = int(before[-1]) if len(before) else -1  # -1: the starting balance was the peak
    after = np.flatnonzero(at_peak[trough:])
    end_i = trough + int(after[0]) if len(after) else None
    start_ms = int(curve.ts[start_i]) + timeframe_ms if start_i >= 0 else int(curve.ts[0])
    end_ms = int(curve.ts[end_i]) + timeframe_ms if end_i is not None else int(curve.ts[-1]) + timeframe_ms
    return {
        "max_drawdown": float(-dd[trough]),
        "max_drawdown_duration_ms": end_ms - start_ms,
        "max_drawdown_start": start_ms,
        "max_drawdown_trough": int(curve.ts[trough]) + timeframe_ms,
        "max_drawdown_end": end_ms if end_i is not None else None,
    }


def summary(trades: TradeTable, curve: EquityCurve, timeframe_ms: int) -> dict[str, Any]:
    """Everything the report's summary shows (JSON-ready: None where a ratio is undefined)."""
    start = curve.starting_balance
    eq = curve.equity
    final = float(eq[-1]) if len(eq) else start
    span_ms = int(curve.ts[-1] - curve.ts[0]) + timeframe_ms if len(eq) else 0
    years = span_ms / YEAR_MS
    ppy = YEAR_MS / timeframe_ms
    total_return = final / start - 1.0
    cagr = (final / start) ** (1.0 / years) - 1.0 if years > 0 and final > 0 else None
    rets = np.diff(np.concatenate(([start], eq))) / np.concatenate(([start], eq[:-1])) if len(eq) else eq
    sharpe = sortino = None
    if len(rets) > 1:
        sd = float(np.std(rets, ddof=1))
        mean = float(np.mean(rets))
        sharpe = _finite(mean / sd * math.sqrt(ppy)) if sd > 0 else None
        downside = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2)))
        sortino = _finite(mean / downside * math.sqrt(ppy)) if downside > 0 else None
    dd = drawdown_stats(curve, timeframe_ms)
    calmar = _finite(cagr / dd["max_drawdown"]) if cagr is not None and dd["max_drawdown"] > 0 else None
    days = span_ms / DAY_MS
    out: dict[str, Any] = {
        "starting_balance": start,
        "final_equity": final,
        "total_return": total_return,
        "cagr": _finite(cagr) if cagr is not None else None,
        "sharpe": sharpe,
        "sortino": sortino,
        "calmar": calmar,
        **dd,
        "exposure": float(np.mean(curve.exposure > 0)) if len(eq) else 0.0,
        "trades_per_day": len(trades) / days if days > 0 else None,
        "fees_paid": float(trades.fee.sum()),
        "start": int(curve.ts[0]) if len(eq) else None,
        "end": int(curve.ts[-1]) + timeframe_ms if len(eq) else None,
        "candles": len(eq),
        "periods_per_year": ppy,
    }
    out.update({k: v for k, v in trade_stats(trades).items() if k not in out})
    return out


def grouped(trades: TradeTable, by: str) -> dict[str, dict[str, Any]]:
    """trade_stats per value of the `pair` or `strategy` column."""
    col = getattr(trades, by)
    return {str(k): trade_stats(trades.select(col == k)) for k in sorted(set(col.tolist()))}
