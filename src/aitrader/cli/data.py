"""`aitrader data ...`: import, list, check and download historical candles.

Thin edge over `aitrader.data`: parse options, call the library, print a rich table or JSON.
Every command takes `--datadir` (default: config `data.datadir`) and `--config`. Problems a user
can cause surface as one `error:` line (main.py turns AitraderError into that); `data check` exits 1
when any dataset has errors (warnings alone exit 0).
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from aitrader.cli.common import ConfigOption, DatadirOption, JsonFlag, console, settings_from
from aitrader.config import Settings
from aitrader.core.errors import AitraderError, DataError
from aitrader.core.symbols import parse_dataset_name, split_symbol
from aitrader.core.time import ms_to_iso, parse_time, timeframe_to_ms
from aitrader.data.csv_io import read_ohlcv_csv_counted
from aitrader.data.store import DatasetInfo, HistoryStore
from aitrader.data.validate import Report, check

data_app = typer.Typer(help="Import, list, check and download historical candles.", no_args_is_help=True)

PairsOption = Annotated[
    list[str] | None,
    typer.Option("--pairs", "-p", help="Pairs, e.g. BTC/USDT (repeat the option or separate with commas)."),
]


def _settings_and_store(datadir: Path | None, config: Path | None) -> tuple[Settings, HistoryStore]:
    settings = settings_from(config)
    return settings, HistoryStore(datadir if datadir is not None else settings.data.datadir)


def _split_pairs(values: list[str] | None) -> list[str]:
    pairs = [p for v in values or [] for p in re.split(r"[,\s]+", v) if p]
    for p in pairs:
        split_symbol(p)  # DataError naming the bad pair
    return pairs


def _iso(ms: int | None) -> str:
    return ms_to_iso(ms) if ms is not None else "-"


@data_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV files (.csv or .csv.gz) in the shared format.")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="Exchange id (default: from each file name).")
    ] = None,
    datadir: DatadirOption = None,
    config: ConfigOption = None,
) -> None:
    """Import candle files into the store; a re-import replaces overlapping candles."""
    _, store = _settings_and_store(datadir, config)
    # names first: a file we cannot place is reported before anything is written
    plans = []
    for f in files:
        name = parse_dataset_name(f)
        plans.append((f, exchange or name.exchange, name))
    table = Table("file", "dataset", "rows read", "duplicates dropped", "new", "rows in store")
    for done, (f, ex, name) in enumerate(plans):
        try:
            ohlcv, duplicates = read_ohlcv_csv_counted(f)
        except DataError as e:
            note = f" ({done} earlier file(s) were imported)" if done else " (nothing was imported)"
            raise DataError(f"{e}{note}") from None
        added = store.write(ex, name.symbol, name.timeframe, ohlcv, kind=name.kind)
        info = store.info(ex, name.symbol, name.timeframe, name.kind)
        rows = info.rows if info else 0
        dataset = f"{ex} {name.symbol} {name.timeframe} {name.kind}"
        table.add_row(f.name, dataset, str(len(ohlcv) + duplicates), str(duplicates), str(added), str(rows))
    console.print(table)


def _info_dict(d: DatasetInfo) -> dict[str, Any]:
    return {
        "exchange": d.exchange,
        "pair": d.symbol,
        "timeframe": d.timeframe,
        "kind": d.kind,
        "first": d.first,
        "last": d.last,
        "rows": d.rows,
    }


@data_app.command("list")
def list_(json_out: JsonFlag = False, datadir: DatadirOption = None, config: ConfigOption = None) -> None:
    """List the datasets in the store with their time range and row count."""
    _, store = _settings_and_store(datadir, config)
    infos = store.datasets()
    if json_out:
        typer.echo(json.dumps([_info_dict(d) for d in infos]))
        return
    if not infos:
        console.print(f"no data in {store.datadir}")
        return
    table = Table("exchange", "pair", "timeframe", "kind", "first (UTC)", "last (UTC)", "rows")
    for d in infos:
        table.add_row(d.exchange, d.symbol, d.timeframe, d.kind, _iso(d.first), _iso(d.last), f"{d.rows:,}")
    console.print(table)


def _findings(report: Report) -> str:
    """One short line per issue kind (outliers can be dozens; `--json` lists each one)."""
    lines: list[str] = []
    for issue in report.issues:
        if issue.kind in ("outlier", "gap"):  # gaps have their own column
            continue
        color = "red" if issue.severity == "error" else "yellow"
        lines.append(f"[{color}]{issue.kind}[/]: {issue.message}")
    outliers = [i for i in report.issues if i.kind == "outlier"]
    if outliers:
        worst = max(outliers, key=lambda i: abs(i.value or 0.0))
        lines.append(
            f"[yellow]outlier[/]: {len(outliers)} jump(s), largest {worst.value or 0.0:+.1%} "
            f"at {_iso(worst.ts)}"
        )
    return "\n".join(lines) or "-"


@data_app.command("check")
def check_(
    json_out: JsonFlag = False,
    pairs: PairsOption = None,
    exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="Only this exchange.")] = None,
    timeframe: Annotated[str | None, typer.Option("--timeframe", "-t", help="Only this timeframe.")] = None,
    sigmas: Annotated[
        float | None,
        typer.Option(
            "--sigmas", min=0.5, help="Outlier threshold in robust sigmas (default: data.outlier_sigmas)."
        ),
    ] = None,
    datadir: DatadirOption = None,
    config: ConfigOption = None,
) -> None:
    """Check every dataset for gaps, duplicates, bad prices, OHLC errors and outliers; exit 1 on errors."""
    settings, store = _settings_and_store(datadir, config)
    wanted = set(_split_pairs(pairs))
    infos = [
        d
        for d in store.datasets()
        if (not wanted or d.symbol in wanted)
        and (exchange is None or d.exchange == exchange)
        and (timeframe is None or d.timeframe == timeframe)
    ]
    if not infos:
        raise DataError(f"no datasets in {store.datadir} match the filters (see `aitrader data list`)")
    k = sigmas if sigmas is not None else settings.data.outlier_sigmas
    results = []
    for d in infos:
        ohlcv = store.read(d.exchange, d.symbol, d.timeframe, kind=d.kind)
        report = check(ohlcv, d.timeframe, settings.data.outlier_jump.get(d.symbol), k, kind=d.kind)
        results.append((d, report))
    failed = any(not r.ok for _, r in results)
    if json_out:
        typer.echo(json.dumps([{**_info_dict(d), **r.to_dict()} for d, r in results]))
    else:
        table = Table("dataset", "rows", "status", "gaps", "findings")
        for d, r in results:
            status = (
                f"[red]{len(r.errors)} error(s)[/]"
                if r.errors
                else ("[yellow]warnings[/]" if r.warnings else "[green]ok[/]")
            )
            findings = _findings(r)
            table.add_row(
                f"{d.exchange} {d.symbol} {d.timeframe} {d.kind}",
                f"{r.rows:,}",
                status,
                r.gap_summary(),
                findings,
            )
        console.print(table)
    if failed:
        raise typer.Exit(1)


@data_app.command("download")
def download(
    since: Annotated[str, typer.Option("--since", help="Start: YYYY-MM-DD, ISO-8601 or epoch ms.")],
    exchange: Annotated[
        str | None, typer.Option("--exchange", "-e", help="ccxt exchange id (default: exchange.name).")
    ] = None,
    pairs: PairsOption = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", "-t", help="Candle timeframe (default: data.timeframe).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (exclusive; default: now).")] = None,
    api_url: Annotated[
        str | None, typer.Option("--api-url", help="REST base URL override (default: exchange.api_url).")
    ] = None,
    datadir: DatadirOption = None,
    config: ConfigOption = None,
) -> None:
    """Download candles from an exchange into the store (resumable: re-running adds only new ones)."""
    settings, store = _settings_and_store(datadir, config)
    ex = exchange or settings.exchange.name
    symbols = _split_pairs(pairs) or list(settings.exchange.pairs)
    tf = timeframe or settings.data.timeframe
    timeframe_to_ms(tf)
    since_ms = parse_time(since)
    until_ms = parse_time(until) if until else None
    if until_ms is not None and until_ms <= since_ms:
        raise AitraderError(f"--until {until} is not after --since {since}")
    try:  # imported lazily: ccxt is slow to import and the module is written separately
        downloader = importlib.import_module("aitrader.data.download")
        download_ohlcv, kind_of = downloader.download_ohlcv, downloader.kind_of
    except ModuleNotFoundError as e:
        if e.name != "aitrader.data.download":
            raise
        raise AitraderError("data download is not part of this build yet (aitrader.data.download)") from None

    # rate limit from config when set (our simulator needs none); the downloader's default otherwise
    extra: dict[str, Any] = {}
    if settings.exchange.rate_limit_ms is not None:
        extra["rate_limit_ms"] = settings.exchange.rate_limit_ms
    with Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(symbol: str, done: int, total: int) -> None:
            if symbol not in tasks:
                tasks[symbol] = bar.add_task(symbol, total=total or None)
            bar.update(tasks[symbol], completed=done, total=total or None)

        added = download_ohlcv(
            ex,
            symbols,
            tf,
            since_ms,
            until_ms,
            store,
            api_url or settings.exchange.api_url,
            progress,
            **extra,
        )
    table = Table("exchange", "pair", "timeframe", "rows added", "rows in store", "last (UTC)")
    notes = []
    for sym in symbols:
        info = store.info(ex, sym, tf, kind_of(sym))  # perpetuals are stored as futures, not spot
        rows, last = (info.rows, info.last) if info else (0, None)
        table.add_row(ex, sym, tf, str(added.get(sym, 0)), str(rows), _iso(last))
        if not added.get(sym, 0):
            notes.append(_nothing_added_note(sym, tf, since_ms, until_ms, last))
    console.print(table)
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def _nothing_added_note(symbol: str, tf: str, since_ms: int, until_ms: int | None, last: int | None) -> str:
    """Why a symbol added no candles, naming the requested range and the last stored candle."""
    span = f"{ms_to_iso(since_ms)} .. {ms_to_iso(until_ms) if until_ms is not None else 'now'}"
    head = f"{symbol} {tf}: 0 candles added for {span}"
    if last is None:
        return f"{head}; the exchange returned no closed candles in that range (nothing stored yet)"
    stored = f"last stored candle {ms_to_iso(last)}"
    end = last + timeframe_to_ms(tf)
    if until_ms is not None and end >= until_ms:
        return f"{head}; already up to date ({stored})"
    if end > since_ms:
        return f"{head}; already up to date: the exchange has no closed candle after the {stored}"
    return f"{head}; the exchange returned no closed candles in that range ({stored}, before it)"


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
