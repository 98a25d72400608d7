"""One self-contained HTML report: summary tables, equity, drawdown, candles with trades (plotly).

Self-contained means it opens offline years later: plotly.js is inlined once (include_plotlyjs=True
on the first figure, no CDN), nothing else is referenced. Long histories are thinned for the browser
(equity to <= 20k points, candles aggregated to <= 3k per pair); trade markers keep their exact
times and prices.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from aitrader.core.candles import OHLCV
from aitrader.core.time import ms_to_iso

if TYPE_CHECKING:
    from aitrader.backtest.report import BacktestReport

MAX_EQUITY_POINTS = 20_000
MAX_CANDLES = 3_000
MAX_PAIR_CHARTS = 8


def _dt(ms: np.ndarray) -> np.ndarray:
    return np.asarray(ms, dtype="datetime64[ms]")


def _thin(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    idx = np.linspace(0, n - 1, limit).astype(np.int64)
    return np.unique(idx)


def _aggregate(c: OHLCV, limit: int) -> OHLCV:
    """Merge every k consecutive candles (k chosen so at most `limit` remain)."""
    n = len(c)
    if n <= limit:
        return c
    k = -(-n // limit)
    starts = np.arange(0, n, k)
    return OHLCV(
        c.ts[starts],
        c.open[starts],
        np.maximum.reduceat(c.high, starts),
        np.minimum.reduceat(c.low, starts),
        c.close[np.minimum(starts + k, n) - 1],
        np.add.reduceat(np.nan_to_num(c.volume), starts),
    )


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.6g}"
    return html.escape(str(v))


def _table(rows: dict[str, dict[str, Any]], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["", *cols])
    body = "".join(
        "<tr><td>" + html.escape(k) + "</td>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>"
        for k, r in rows.items()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary_table(s: dict[str, Any]) -> str:
    def when(ms: Any) -> str:
        return ms_to_iso(int(ms)) if ms is not None else "–"

    pct = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure"}
    rows = []
    for key, val in s.items():
        if key in ("start", "end", "max_drawdown_start", "max_drawdown_trough", "max_drawdown_end"):
            shown = when(val)
        elif key in pct and isinstance(val, float):
            shown = f"{val * 100:.2f} %"
        elif key.endswith("duration_ms") and val is not None:
            shown = f"{float(val) / 3_600_000:.1f} h"
        elif isinstance(val, dict):  # rejections by reason code
            shown = html.escape(", ".join(f"{k} {v}" for k, v in val.items()) or "0")
        else:
            shown = _fmt(val)
        rows.append(f"<tr><td>{html.escape(key)}</td><td>{shown}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _equity_figure(report: BacktestReport) -> go.Figure:
    cv = report.curve
    idx = _thin(len(cv.ts), MAX_EQUITY_POINTS)
    x = _dt(cv.ts[idx])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=x, y=cv.equity[idx], name="equity", line={"width": 1.4}), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=x, y=cv.drawdown[idx] * 100, name="drawdown %", fill="tozeroy", line={"width": 1}),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(height=560, margin={"l": 50, "r": 20, "t": 30, "b": 30}, title="Equity and drawdown")
    return fig


def _pair_figure(report: BacktestReport, pair: str) -> go.Figure:
    c = _aggregate(report.candles[pair], MAX_CANDLES)
    t = report.trades.select(report.trades.pair == pair)
    fig = go.Figure()
    fig.add_trace(
        go.Candlestick(x=_dt(c.ts), open=c.open, high=c.high, low=c.low, close=c.close, name=pair)
    )
    if len(t):
        texts = [
            f"{s} pnl {p:.6g} ({r})" for s, p, r in zip(t.strategy, t.pnl, t.exit_reason, strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=_dt(t.entry_time), y=t.entry_price, mode="markers", name="entry",
                marker={"symbol": "triangle-up", "size": 9, "color": "#1f77b4"}, text=texts,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=_dt(t.exit_time), y=t.exit_price, mode="markers", name="exit",
                marker={"symbol": "triangle-down", "size": 9,
                        "color": np.where(t.pnl > 0, "#2ca02c", "#d62728").tolist()},
                text=texts,
            )
        )
    fig.update_layout(
        height=460, title=f"{pair}: candles and trades", xaxis_rangeslider_visible=False,
        margin={"l": 50, "r": 20, "t": 40, "b": 30},
    )
    return fig


def render_html(report: BacktestReport) -> str:
    figs = [_equity_figure(report)]
    pairs = sorted(report.candles, key=lambda p: -int((report.trades.pair == p).sum()))[:MAX_PAIR_CHARTS]
    figs.extend(_pair_figure(report, p) for p in pairs)
    parts = [
        f.to_html(include_plotlyjs=(i == 0), full_html=False, config={"displaylogo": False})
        for i, f in enumerate(figs)
    ]
    cols = ["trades", "win_rate", "profit", "profit_factor", "expectancy", "fees"]
    settings = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in report.settings.items()
    )
    more = len(report.candles) - len(pairs)
    note = f"<p>{more} more pair(s) without charts; see the tables.</p>" if more > 0 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>aitrader backtest</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
td:first-child {{ text-align: left; }}
.grid {{ display: flex; gap: 2em; flex-wrap: wrap; }}
</style></head><body>
<h1>Backtest report</h1>
<p>fingerprint <code>{report.fingerprint}</code>; timeframe {html.escape(report.timeframe)};
ratios annualised with {report.summary.get("periods_per_year", 0):.0f} candles per year (365 days).</p>
<div class="grid"><div><h2>Summary</h2>{_summary_table(report.summary)}</div>
<div><h2>Settings</h2><table>{settings}</table></div></div>
<h2>Per pair</h2>{_table(report.per_pair, cols)}
<h2>Per strategy</h2>{_table(report.per_strategy, cols)}
{"".join(parts)}
{note}
</body></html>
"""
