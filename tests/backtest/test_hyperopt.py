"""Walk-forward hyperopt on the bundled data, and two processes sharing one study in PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from aitrader.backtest.data import load_candles
from aitrader.backtest.demo import import_sample_data
from aitrader.backtest.hyperopt import delete_studies, run_hyperopt, score, split_folds

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    d = tmp_path_factory.mktemp("hyperopt")
    return d, import_sample_data(d)[:3]


def test_walk_forward_folds_do_not_overlap(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    candles = load_candles(datadir, "bittrex", pairs, "5m", None, None)
    folds = split_folds(candles, 3)
    assert all(a < b < c for a, b, c in folds)
    assert all(folds[k][1] == folds[k + 1][0] for k in range(2))  # OOS of fold k = IS of fold k+1
    res = run_hyperopt("ema_cross", candles, "5m", trials=12, objective="sharpe", folds=3, seed=7)
    assert len(res.folds) == 3
    for f in res.folds:
        assert 2 <= int(f.best_params["fast"]) < int(f.best_params["slow"]) <= 400
        oos = {p: c.between(*f.out_of_sample) for p, c in candles.items()}
        ins = {p: c.between(*f.in_sample) for p, c in candles.items()}
        # the reported scores are the scores of those parameters on those blocks
        assert f.out_of_sample_score == pytest.approx(score("ema_cross", f.best_params, oos, "5m", "sharpe"))
        assert f.in_sample_score == pytest.approx(score("ema_cross", f.best_params, ins, "5m", "sharpe"))
        # the search maximised in-sample: the defaults cannot beat the best found by much luck
        assert f.in_sample_score >= score("ema_cross", {}, ins, "5m", "sharpe") - 1e-9 or f.trials < 12


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3):
            return None
    except Exception as e:
        return f"PostgreSQL at 127.0.0.1:5432/test unreachable: {e}"


@pytest.mark.postgres
def test_two_processes_share_one_study(store: tuple[Path, list[str]], tmp_path: Path) -> None:
    why = _pg_reachable()
    if why:
        pytest.skip(why)
    import optuna

    datadir, pairs = store
    name = f"aitrader-test-{uuid.uuid4().hex[:10]}"
    cmd = [
        sys.executable, "-m", "aitrader.cli.main", "hyperopt", "--strategy", "ema_cross", "--trials", "10",
        "--objective", "profit", "--folds", "1", "--storage", PG_URL, "--study-name", name,
        "--datadir", str(datadir), "--exchange", "bittrex", "--timeframe", "5m", "--pairs", ",".join(pairs),
    ]
    env = {**os.environ, "COLUMNS": "200"}
    try:
        procs = [
            subprocess.Popen([*cmd, "--json", str(tmp_path / f"r{i}.json")], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (_out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
        study = optuna.load_study(study_name=f"{name}-wf0", storage=PG_URL)
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state.is_finished()]
        # the cap is shared: about 10 in total (each process may finish one in flight), not 20
        assert 10 <= len(done) <= 12
        pids = {t.user_attrs.get("pid") for t in trials}
        assert len(pids) == 2  # both processes contributed trials to the one study
        results = [json.loads((tmp_path / f"r{i}.json").read_text()) for i in range(2)]
        assert results[0]["folds"][0]["best_params"] == results[1]["folds"][0]["best_params"]
    finally:
        delete_studies(PG_URL, name, 1)
    with pytest.raises(KeyError):
        optuna.load_study(study_name=f"{name}-wf0", storage=PG_URL)
