"""Rich rendering of a backtest for the terminal (the CLI and the demo share it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from aitrader.backtest.report import BacktestReport
from aitrader.backtest.runner import Progress as ProgressFn
from aitrader.core.time import ms_to_iso


def _num(v: Any, pct: bool = False) -> str:
    if v is None:
        return "–"
    if pct:
        return f"{float(v) * 100:.2f} %"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def rejections_text(rejections: dict[str, int]) -> str:
    """`12 (max_positions 9, daily_loss 3)`, most frequent first; `0` when nothing was refused."""
    total = sum(rejections.values())
    if not total:
        return "0"
    parts = ", ".join(f"{k} {n}" for k, n in sorted(rejections.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} ({parts})"


def summary_table(report: BacktestReport) -> Table:
    s = report.summary
    t = Table(title="Backtest summary", show_header=False, title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    rows: list[tuple[str, str]] = [
        ("period", f"{ms_to_iso(s['start'])} → {ms_to_iso(s['end'])}" if s["start"] is not None else "–"),
        ("mode", str(report.settings.get("mode", ""))),
        ("trades", _num(s["trades"])),
        ("total return", _num(s["total_return"], pct=True)),
        ("CAGR", _num(s["cagr"], pct=True)),
        ("Sharpe", _num(s["sharpe"])),
        ("Sortino", _num(s["sortino"])),
        ("Calmar", _num(s["calmar"])),
        ("max drawdown", _num(s["max_drawdown"], pct=True)),
        ("max drawdown duration", f"{s['max_drawdown_duration_ms'] / 3_600_000:.1f} h"),
        ("win rate", _num(s["win_rate"], pct=True)),
        ("profit factor", _num(s["profit_factor"])),
        ("expectancy", _num(s["expectancy"])),
        ("exposure", _num(s["exposure"], pct=True)),
        ("trades per day", _num(s["trades_per_day"])),
        ("fees paid", _num(s["fees_paid"])),
        ("final equity", _num(s["final_equity"])),
        ("rejected entries", rejections_text(s.get("rejections") or {})),
    ]
    if s.get("venue_rejections"):
        rows.append(("venue rejections", str(s["venue_rejections"])))
    for k, v in rows:
        t.add_row(k, v)
    return t


def group_table(title: str, rows: dict[str, dict[str, Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for col in ("", "trades", "win rate", "profit", "profit factor", "fees"):
        t.add_column(col, justify="left" if not col else "right")
    for key, r in rows.items():
        t.add_row(
            key, str(r["trades"]), _num(r["win_rate"], pct=True), _num(r["profit"]),
            _num(r["profit_factor"]), _num(r["fees"]),
        )
    return t


def print_report(console: Console, report: BacktestReport) -> None:
    console.print(summary_table(report))
    if len(report.per_pair) > 0:
        console.print(group_table("Per pair", report.per_pair))
    if len(report.per_strategy) > 1:
        console.print(group_table("Per strategy", report.per_strategy))


@contextmanager
def progress_bar(console: Console) -> Iterator[ProgressFn]:
    """A rich progress bar with one task per stage (signals, backtest)."""
    bar = Progress(
        TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), console=console, transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, frac: float) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=1.0)
        bar.update(tasks[stage], completed=frac)

    with bar:
        yield update
