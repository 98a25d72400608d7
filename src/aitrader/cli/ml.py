"""`aitrader ml`: train (in a subprocess), list, show and promote models; compare backtests with the gate.

`ml train` never trains in this process: it starts `python -m aitrader.ml.worker` and renders the
JSON progress lines the worker prints as a progress bar, then the model card's metrics and the
feature importances.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from aitrader.cli.common import ConfigOption, DatadirOption, JsonFlag, console, resolve_datadir, settings_from
from aitrader.config import Settings
from aitrader.core.errors import AitraderError
from aitrader.core.time import ms_to_iso, parse_time, parse_timerange, timeframe_to_ms
from aitrader.ml.configured import train_spec
from aitrader.ml.registry import ModelRegistry
from aitrader.ml.retrain import spawn_worker
from aitrader.ml.worker import TrainRequest

ml_app = typer.Typer(
    help="ML entry gate: train, list, promote models; backtest with and without the gate.",
    no_args_is_help=True,
)

PairsOption = Annotated[list[str] | None, typer.Option(help="Pairs (repeat or comma-separate).")]
TimerangeOption = Annotated[str | None, typer.Option(help="START-END, e.g. 20180110-20180130.")]


def _pairs(values: list[str] | None, settings: Settings) -> list[str]:
    out = [p.strip() for v in values or [] for p in v.split(",") if p.strip()]
    return out or list(settings.exchange.pairs)


def _registry(settings: Settings, *, with_db: bool = False) -> ModelRegistry:
    return ModelRegistry(settings.ml.registry, db=_db(settings) if with_db else None, tenant=settings.tenant)


def _db(settings: Settings) -> Any:
    """The storage engine when the database is initialised; None (with a note) otherwise."""
    from aitrader.storage.db import make_engine
    from aitrader.storage.migrate import ensure_current

    try:
        engine = make_engine(settings.storage.url)
        ensure_current(engine)
    except Exception as e:
        console.print(f"[yellow]note:[/] model rows not written to the database ({e})")
        return None
    return engine


def _db_url(settings: Settings) -> str | None:
    engine = _db(settings)
    if engine is None:
        return None
    engine.dispose()
    return settings.storage.url


@ml_app.command("train")
def train_cmd(
    config: ConfigOption = None,
    datadir: DatadirOption = None,
    pairs: PairsOption = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange id of the stored data.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe, e.g. 5m.")] = None,
    timerange: TimerangeOption = None,
    label: Annotated[str | None, typer.Option(help="forward or triple_barrier [ml.label].")] = None,
    model: Annotated[str | None, typer.Option(help="hgb or lightgbm (if installed) [ml.model].")] = None,
    folds: Annotated[int | None, typer.Option(min=1, help="Walk-forward folds [ml.folds].")] = None,
    purge: Annotated[
        int | None, typer.Option(min=0, help="Extra purge margin in bars [ml.purge_bars].")
    ] = None,
    embargo: Annotated[
        int | None, typer.Option(min=0, help="Embargo in bars before each test fold [ml.embargo_bars].")
    ] = None,
    max_iter: Annotated[int | None, typer.Option(min=1, help="Boosting iterations [ml.max_iter].")] = None,
    promote: Annotated[str | None, typer.Option(help="never, always or if_better [ml.promote].")] = None,
) -> None:
    """Train a model walk-forward in a subprocess, register it with its model card.

    Every option left out comes from the config's `ml:` section."""
    settings = settings_from(config)
    tf = timeframe or settings.data.timeframe
    timeframe_to_ms(tf)
    promote = promote or settings.ml.promote
    if promote not in ("never", "always", "if_better"):
        raise AitraderError(f"--promote must be never, always or if_better, got {promote!r}")
    try:
        spec = train_spec(
            settings,
            label=label,
            model=model,
            folds=folds,
            purge_bars=purge,
            embargo_bars=embargo,
            max_iter=max_iter,
        )
    except ValueError as e:
        raise AitraderError(str(e)) from None
    start, end = parse_timerange(timerange) if timerange else (None, None)
    req = TrainRequest(
        datadir=str(resolve_datadir(datadir, config)),
        exchange=exchange or settings.exchange.name,
        pairs=_pairs(pairs, settings),
        timeframe=tf,
        registry=str(settings.ml.registry),
        spec=spec.to_dict(),
        start_ms=start,
        end_ms=end,
        db_url=_db_url(settings),
        tenant=settings.tenant,
        promote=promote,  # type: ignore[arg-type]
    )
    final = _run_worker(req, settings.ml.registry)
    if not final.get("done"):
        raise AitraderError(f"training failed: {final.get('error', 'the training process died')}")
    console.print(
        f"registered model [bold]{final['version']}[/] in {settings.ml.registry}"
        + (" (promoted)" if final.get("promoted") else "")
    )
    if final.get("current_error"):
        console.print(f"[yellow]note:[/] the current model was unusable ({final['current_error']})")
    console.print(metrics_table(final["validation"]))
    if final.get("importances"):
        console.print(importances_table(final["importances"]))


def _run_worker(req: TrainRequest, registry: Path) -> dict[str, Any]:
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, TaskID] = {}
    final: dict[str, Any] = {}
    proc = spawn_worker(req, Path(registry) / ".requests", subprocess.PIPE)
    assert proc.stdout is not None
    try:
        with bar:
            for line in proc.stdout:
                msg = json.loads(line)
                if "stage" in msg:
                    if msg["stage"] not in tasks:
                        tasks[msg["stage"]] = bar.add_task(msg["stage"], total=1.0)
                    bar.update(tasks[msg["stage"]], completed=float(msg["frac"]))
                else:
                    final = msg
    finally:
        if proc.poll() is None and not final:
            proc.kill()
        proc.wait()
    return final


def _f(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{float(v) * 100:.2f} %" if pct else f"{float(v):.4f}"


def metrics_table(m: dict[str, Any]) -> Table:
    t = Table(title="Validation (latest walk-forward fold)", show_header=False, title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for name, key, pct in (
        ("samples", "samples", False),
        ("base win rate", "base_rate", True),
        ("AUC", "auc", False),
        ("pass rate at threshold", "pass_rate", True),
        ("precision at threshold", "precision_at_threshold", True),
        ("Brier", "brier", False),
    ):
        t.add_row(name, str(m[key]) if key == "samples" else _f(m.get(key), pct))
    t.add_row("threshold", _f(m.get("threshold")))
    rel = ", ".join(
        f"{b['lo']:.1f}-{b['hi']:.1f}: {b['predicted']:.2f}→{b['observed']:.2f} (n={b['count']})"
        for b in m.get("reliability", [])
    )
    t.add_row("reliability (predicted→observed)", rel or "–")
    return t


def importances_table(importances: dict[str, float], top: int = 15) -> Table:
    """Permutation importances (mean AUC drop when a feature is shuffled), largest first."""
    t = Table(
        title="Feature importances (AUC drop when shuffled, latest fold)",
        show_header=False,
        title_justify="left",
    )
    t.add_column("feature")
    t.add_column("importance", justify="right")
    ranked = sorted(importances.items(), key=lambda kv: -kv[1])
    for name, value in ranked[:top]:
        t.add_row(name, _f(value))
    if len(ranked) > top:
        t.add_row(f"... {len(ranked) - top} more", "")
    return t


@ml_app.command("list")
def list_cmd(config: ConfigOption = None, json_out: JsonFlag = False) -> None:
    """Registered models, newest last; * marks the promoted one."""
    settings = settings_from(config)
    reg = _registry(settings)
    current = reg.current()
    rows = []
    for v in reg.versions():
        card = reg.card(v)
        val = card.get("metrics", {}).get("validation", {})
        rows.append(
            {
                "version": v,
                "current": v == current,
                "created": card.get("created"),
                "model": card.get("model"),
                "pairs": card.get("pairs"),
                "timeframe": card.get("timeframe"),
                "data": f"{card['data']['start']} → {card['data']['end']}",
                "auc": val.get("auc"),
                "brier": val.get("brier"),
                "code_version": card.get("code_version"),
            }
        )
    if json_out:
        typer.echo(json.dumps(rows, indent=1))
        return
    t = Table(title=f"Models in {reg.root}", title_justify="left")
    for col in ("", "version", "created", "model", "pairs", "data", "AUC", "Brier", "code"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            "*" if r["current"] else "",
            r["version"],
            str(r["created"]),
            str(r["model"]),
            ", ".join(r["pairs"] or []),
            r["data"],
            _f(r["auc"]),
            _f(r["brier"]),
            str(r["code_version"]),
        )
    console.print(t if rows else f"no models in {reg.root}")


@ml_app.command("show")
def show_cmd(version: str, config: ConfigOption = None) -> None:
    """Print a model card (JSON)."""
    reg = _registry(settings_from(config))
    typer.echo(json.dumps(reg.card(reg.resolve(version)), indent=1))


@ml_app.command("promote")
def promote_cmd(version: str, config: ConfigOption = None) -> None:
    """Make VERSION (or `latest`) the model the gate serves."""
    settings = settings_from(config)
    reg = _registry(settings, with_db=True)
    v = reg.resolve(version)
    reg.promote(v)
    console.print(f"promoted {v}")


def _card_ms(card: dict[str, Any], key: str) -> int | None:
    """A time of the card's `data` section in epoch ms: `<key>_ms`, else its ISO `<key>` (older cards)."""
    data = card.get("data") or {}
    ms = data.get(f"{key}_ms")
    if isinstance(ms, int) and not isinstance(ms, bool):
        return ms
    text = data.get(key)
    if isinstance(text, str):
        try:
            return parse_time(text)
        except AitraderError:
            return None
    return None


def _iso(ms: int | None, open_side: str) -> str:
    return open_side if ms is None else ms_to_iso(ms)


@ml_app.command("compare")
def compare_cmd(
    config: ConfigOption = None,
    datadir: DatadirOption = None,
    model: Annotated[str, typer.Option(help="current, latest or a version.")] = "current",
    pairs: PairsOption = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange id of the stored data.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe, e.g. 5m.")] = None,
    timerange: Annotated[
        str | None,
        typer.Option(
            help="START-END, e.g. 20180110-20180130 (default: from the model's out-of-sample validation "
            "start to the end of the data)."
        ),
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Gate threshold (default ml.threshold).")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the comparison as JSON here.")
    ] = None,
) -> None:
    """Full-stack backtest without and with the ML gate, side by side.

    By default the runs start where the model's latest walk-forward validation fold starts (its card's
    `data.validation_start`): the shipped model never trained on anything from there on, so the
    comparison is out of sample. A --timerange reaching into the training data is run as given, with
    a warning."""
    from aitrader.backtest.runner import BacktestSpec
    from aitrader.ml.backtest_gate import compare_with_gate
    from aitrader.ml.gate import MLGate
    from aitrader.ml.report import comparison_table

    settings = settings_from(config)
    tf = timeframe or settings.data.timeframe
    reg = _registry(settings)
    gate = MLGate(
        reg,
        threshold=settings.ml.threshold if threshold is None else threshold,
        on_failure=settings.ml.on_failure,
        timeframe_ms=timeframe_to_ms(tf),
    )
    if not gate.load(model):
        raise AitraderError(f"cannot load model {model}: {gate.last_error}")
    assert gate.model is not None
    card = gate.model.card
    oos_start = _card_ms(card, "validation_start")
    train_start, train_end = _card_ms(card, "train_start"), _card_ms(card, "train_end")
    overlaps = False
    if timerange:
        start, end = parse_timerange(timerange)
        source = "--timerange"
        # training rows were decided from train_start and their labels known up to train_end
        overlaps = (
            train_start is not None
            and train_end is not None
            and (start is None or start < train_end)
            and (end is None or end > train_start)
        )
    elif oos_start is not None:
        start, end, source = oos_start, None, "model validation start"
    else:
        start, end, source = None, None, "all data"
    version = gate.version
    console.print(
        f"range: {_iso(start, 'start of data')} → {_iso(end, 'end of data')} ({source}; model {version} "
        f"trained on {_iso(train_start, '?')} → {_iso(train_end, '?')})"
    )
    if source == "all data":
        console.print(
            f"[yellow]warning:[/] model {version}'s card has no validation start: the comparison covers "
            "its training data (in-sample); pass --timerange to choose a later range"
        )
    if overlaps:
        console.print(
            f"[yellow]warning:[/] --timerange overlaps model {version}'s training data "
            f"({_iso(train_start, '?')} → {_iso(train_end, '?')}): that part of the comparison is in-sample; "
            f"out of sample starts at {_iso(oos_start, '?')}"
        )
    spec = BacktestSpec(
        exchange=exchange or settings.exchange.name,
        pairs=_pairs(pairs, settings),
        timeframe=tf,
        start_ms=start,
        end_ms=end,
    )
    with console.status("backtesting without and with the gate"):
        cmp = compare_with_gate(settings, spec, resolve_datadir(datadir, config), gate)
    console.print(comparison_table(cmp))
    if json_out is not None:
        candles = cmp.without.report.candles.values()
        out = cmp.to_dict() | {
            "timerange": {
                "start_ms": start,
                "end_ms": end,
                "source": source,
                "overlaps_training": overlaps,
                "first_candle_ms": min((int(c.ts[0]) for c in candles if len(c)), default=None),
                "train_start_ms": train_start,
                "train_end_ms": train_end,
                "validation_start_ms": oos_start,
            }
        }
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
        console.print(f"JSON: {json_out}")


def register(app: typer.Typer) -> None:
    app.add_typer(ml_app, name="ml")
