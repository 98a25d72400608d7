"""`aitrader hyperopt`: walk-forward optuna search over a strategy's declared parameter ranges.

Prints in-sample and out-of-sample scores per fold (backtest.hyperopt explains the split). With
`--storage postgresql+psycopg://...` and the same `--study-name`, several processes share the work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.table import Table

from aitrader.backtest.data import load_candles
from aitrader.backtest.hyperopt import run_hyperopt
from aitrader.cli.common import ConfigOption, DatadirOption, console, resolve_datadir, settings_from
from aitrader.core.errors import AitraderError
from aitrader.core.time import ms_to_iso, parse_timerange, timeframe_to_ms

OBJECTIVES = ("sharpe", "calmar", "profit")


def hyperopt(
    strategy: Annotated[str, typer.Option(help="Strategy to optimise.")],
    trials: Annotated[int, typer.Option(help="Trials per walk-forward fold (across all processes).")] = 50,
    objective: Annotated[str, typer.Option(help="sharpe, calmar or profit.")] = "sharpe",
    jobs: Annotated[int, typer.Option(help="Parallel trials in this process.")] = 1,
    storage: Annotated[str | None, typer.Option(help="optuna storage URL (shared studies).")] = None,
    study_name: Annotated[str | None, typer.Option(help="Study name (same name = same study).")] = None,
    folds: Annotated[int, typer.Option(help="Walk-forward folds.")] = 3,
    seed: Annotated[int | None, typer.Option(help="Sampler seed (reproducible single-process runs).")] = None,
    config: ConfigOption = None,
    datadir: DatadirOption = None,
    pairs: Annotated[list[str] | None, typer.Option(help="Pairs (repeat or comma-separate).")] = None,
    exchange: Annotated[str | None, typer.Option(help="Exchange id of the stored data.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Candle timeframe.")] = None,
    timerange: Annotated[str | None, typer.Option(help="START-END, e.g. 20240101-20240301.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the result as JSON here.")] = None,
) -> None:
    """Optimise a strategy walk-forward: in-sample folds search, out-of-sample folds score."""
    if objective not in OBJECTIVES:
        raise AitraderError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if trials < 1 or jobs < 1:
        raise AitraderError("--trials and --jobs must be at least 1")
    settings = settings_from(config)
    tf = timeframe or settings.data.timeframe
    timeframe_to_ms(tf)
    start, end = parse_timerange(timerange) if timerange else (None, None)
    pair_list = [p.strip() for v in (pairs or []) for p in v.split(",") if p.strip()]
    candles = load_candles(
        resolve_datadir(datadir, config), exchange or settings.exchange.name,
        pair_list or list(settings.exchange.pairs), tf, start, end,
    )
    obj = cast(Literal["sharpe", "calmar", "profit"], objective)
    result = run_hyperopt(
        strategy, candles, tf, trials=trials, objective=obj,
        folds=folds, jobs=jobs, storage=storage, study_name=study_name, seed=seed,
        on_trial=lambda k, n: console.print(f"fold {k}/{n} done"),
    )
    table = Table(title=f"Walk-forward {strategy} ({objective})", title_justify="left")
    for col in ("fold", "in-sample", "out-of-sample", "best params", "IS score", "OOS score", "trials"):
        table.add_column(col)
    for f in result.folds:
        table.add_row(
            str(f.fold), f"{ms_to_iso(f.in_sample[0])[:10]}..{ms_to_iso(f.in_sample[1])[:10]}",
            f"{ms_to_iso(f.out_of_sample[0])[:10]}..{ms_to_iso(f.out_of_sample[1])[:10]}",
            ", ".join(f"{k}={v}" for k, v in f.best_params.items()),
            f"{f.in_sample_score:.4g}", f"{f.out_of_sample_score:.4g}", str(f.trials),
        )
    console.print(table)
    console.print(
        f"mean in-sample {result.mean_in_sample:.4g}, mean out-of-sample {result.mean_out_of_sample:.4g}"
    )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "strategy": strategy, "objective": objective,
            "mean_in_sample": result.mean_in_sample, "mean_out_of_sample": result.mean_out_of_sample,
            "folds": [
                {
                    "fold": f.fold, "in_sample": list(f.in_sample), "out_of_sample": list(f.out_of_sample),
                    "best_params": f.best_params, "in_sample_score": f.in_sample_score,
                    "out_of_sample_score": f.out_of_sample_score, "trials": f.trials,
                }
                for f in result.folds
            ],
        }
        json_out.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        console.print(f"JSON: {json_out}")


def register(app: typer.Typer) -> None:
    app.command("hyperopt")(hyperopt)
