"""`aitrader backtest`: run a backtest over stored candles, print the summary, write JSON/HTML reports.

Reference mode (`--stake-amount N --no-stops`): every signal of the listed strategies, fixed stake,
next-open fills, no slippage. Otherwise the full stack: confluence -> risk (or the fixed stake) ->
simulated venue with stops/takes -> ledger. See docs/architecture.md.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from aitrader.backtest.console import print_report, progress_bar
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.cli.common import ConfigOption, DatadirOption, console, resolve_datadir, settings_from
from aitrader.config import Settings, StrategyRef
from aitrader.core.errors import AitraderError
from aitrader.core.time import parse_timerange, timeframe_to_ms


def _decimal(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise AitraderError(f"{what} must be a number, got {text!r}") from None
    if not d.is_finite() or d < 0:
        raise AitraderError(f"{what} must be a non-negative number, got {text!r}")
    return d


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def _trades_files(values: list[str] | None) -> dict[str, Path]:
    """`PAIR=FILE` options (repeatable) -> {pair: existing file}."""
    out: dict[str, Path] = {}
    for v in values or []:
        pair, sep, file = v.partition("=")
        if not sep or not pair.strip() or not file.strip():
            raise AitraderError(f"--trades expects PAIR=FILE (e.g. ETH/USDT=trades.csv), got {v!r}")
        path = Path(file.strip()).expanduser()
        if not path.is_file():
            raise AitraderError(f"--trades {pair.strip()}: no such file {path}")
        out[pair.strip()] = path
    return out


def strategy_refs(settings: Settings, names: list[str]) -> list[StrategyRef]:
    """Named strategies, keeping params and weight where the config lists them."""
    if not names:
        return list(settings.strategies)
    configured = {r.name: r for r in settings.strategies}
    return [configured.get(n, StrategyRef(name=n)) for n in names]


def backtest(
    config: ConfigOption = None,
    datadir: DatadirOption = None,
    strategies: Annotated[str | None, typer.Option(help="Comma-separated strategy names.")] = None,
    pairs: Annotated[list[str] | None, typer.Option(help="Pairs (repeat or comma-separate).")] = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange id of the stored data.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe, e.g. 5m.")] = None,
    timerange: Annotated[str | None, typer.Option(help="START-END, e.g. 20240101-20240301.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    stake_amount: Annotated[
        str | None, typer.Option("--stake-amount", help="Fixed stake per trade in quote currency.")
    ] = None,
    fee: Annotated[str | None, typer.Option(help="Fee rate per side, e.g. 0.001.")] = None,
    no_stops: Annotated[
        bool, typer.Option("--no-stops", help="Place no stop-loss/take-profit orders.")
    ] = False,
    fill_gaps: Annotated[
        bool, typer.Option("--fill-gaps", help="Forward-fill missing candles (flat, zero volume).")
    ] = False,
    trades: Annotated[
        list[str] | None,
        typer.Option(
            "--trades",
            help="PAIR=FILE: public trades CSV (timestamp,id,side,price,amount) whose trade-flow imbalance "
            "adjusts that pair's confluence confidence (repeat per pair).",
        ),
    ] = None,
) -> None:
    """Backtest strategies over stored candles (reference mode with --stake-amount and --no-stops)."""
    settings = settings_from(config)
    tf = timeframe or settings.data.timeframe
    timeframe_to_ms(tf)
    start, end = parse_timerange(timerange) if timerange else (None, None)
    stake = _decimal(stake_amount, "--stake-amount")
    if stake is not None and stake <= 0:
        raise AitraderError("--stake-amount must be positive")
    spec = BacktestSpec(
        exchange=exchange or settings.exchange.name,
        pairs=_split(pairs) or list(settings.exchange.pairs),
        timeframe=tf,
        start_ms=start,
        end_ms=end,
        strategies=strategy_refs(settings, _split([strategies] if strategies else None)),
        stake=stake,
        fee=_decimal(fee, "--fee"),
        no_stops=no_stops,
        fill_gaps=fill_gaps,
        trades=_trades_files(trades),
    )
    with progress_bar(console) as progress:
        result = run_backtest(settings, spec, resolve_datadir(datadir, config), progress)
    print_report(console, result.report)
    if json_out is not None:
        console.print(f"JSON report: {result.report.write_json(json_out)}")
    if html_out is not None:
        console.print(f"HTML report: {result.report.write_html(html_out)}")


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
