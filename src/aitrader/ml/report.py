"""The side-by-side table of a backtest without and with the ML gate (terminal rendering)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from aitrader.ml.backtest_gate import GateComparison

ROWS: tuple[tuple[str, str, bool], ...] = (
    ("trades", "trades", False),
    ("total return", "total_return", True),
    ("Sharpe", "sharpe", False),
    ("Sortino", "sortino", False),
    ("max drawdown", "max_drawdown", True),
    ("win rate", "win_rate", True),
    ("profit factor", "profit_factor", False),
    ("expectancy", "expectancy", False),
    ("exposure", "exposure", True),
    ("fees paid", "fees_paid", False),
    ("final equity", "final_equity", False),
)


def _fmt(v: Any, pct: bool) -> str:
    if v is None:
        return "–"
    if pct:
        return f"{float(v) * 100:.2f} %"
    if isinstance(v, float):
        return f"{v:,.6g}"
    return str(v)


def comparison_table(cmp: GateComparison) -> Table:
    t = Table(
        title=f"Backtest without / with the ML gate (model {cmp.version}, P(win) >= {cmp.threshold:.2f}; "
        f"{cmp.passed} of {cmp.proposed} proposed entries passed)",
        title_justify="left",
    )
    t.add_column("metric")
    t.add_column("without gate", justify="right")
    t.add_column("with gate", justify="right")
    a, b = cmp.without.report.summary, cmp.gated.report.summary
    for name, key, pct in ROWS:
        t.add_row(name, _fmt(a.get(key), pct), _fmt(b.get(key), pct))
    for err in cmp.errors:
        t.add_row("gate failure", "", err)
    return t
