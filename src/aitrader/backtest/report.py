"""Backtest report: summary, per-pair and per-strategy tables, trades; written as JSON and one HTML file.

The JSON is the machine-readable record (`trades` with epoch-ms times, `summary` (with `rejections`:
refused entries by reason code, and `venue_rejections`), `per_pair`, `per_strategy`, `settings`,
`fingerprint`); the HTML (backtest.html_report) is for people. Statistics
are defined in backtest.metrics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aitrader.backtest.equity import EquityCurve, equity_curve
from aitrader.backtest.metrics import grouped, summary
from aitrader.backtest.trades import TradeTable
from aitrader.core.candles import OHLCV
from aitrader.core.time import timeframe_to_ms


@dataclass(frozen=True, slots=True)
class BacktestReport:
    trades: TradeTable
    candles: Mapping[str, OHLCV]
    timeframe: str
    curve: EquityCurve
    summary: dict[str, Any]
    per_pair: dict[str, dict[str, Any]]
    per_strategy: dict[str, dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return self.trades.fingerprint()

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "per_pair": self.per_pair,
            "per_strategy": self.per_strategy,
            "settings": self.settings,
            "fingerprint": self.fingerprint,
            "trades": self.trades.to_records(),
        }

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(_clean(self.to_dict()), indent=1, allow_nan=False), encoding="utf-8")
        tmp.replace(path)
        return path

    def write_html(self, path: Path) -> Path:
        from aitrader.backtest.html_report import render_html  # plotly is imported only when needed

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render_html(self), encoding="utf-8")
        tmp.replace(path)
        return path


def build_report(
    trades: TradeTable,
    candles: Mapping[str, OHLCV],
    timeframe: str,
    starting_balance: float,
    settings: dict[str, Any] | None = None,
    rejections: Mapping[str, int] | None = None,
    venue_rejections: int = 0,
) -> BacktestReport:
    """`rejections`: refused entries by reason code (risk manager / fixed stake), `venue_rejections`:
    orders the venue refused; both go into the summary (empty / 0 in reference mode)."""
    tf_ms = timeframe_to_ms(timeframe)
    curve = equity_curve(trades, candles, starting_balance)
    stats = summary(trades, curve, tf_ms)
    stats["rejections"] = {k: int(n) for k, n in sorted((rejections or {}).items())}
    stats["venue_rejections"] = int(venue_rejections)
    return BacktestReport(
        trades=trades,
        candles=candles,
        timeframe=timeframe,
        curve=curve,
        summary=stats,
        per_pair=grouped(trades, "pair"),
        per_strategy=grouped(trades, "strategy"),
        settings=settings or {},
    )


def _clean(x: Any) -> Any:
    """JSON has no NaN/inf: they become null."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x
