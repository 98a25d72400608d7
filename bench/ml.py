"""ML gate benchmark: training time on 1M candles and p99 latency of one gate decision.

Run: .venv/bin/python bench/ml.py [--candles N]. The 1M candles are the bundled real Bittrex 5m
series of six pairs (34k candles), extended by block-bootstrapping their real log returns (blocks of
288 bars, seed 42) into one pair of N candles, so the return and volume distributions are real ones.
Training: walk-forward (4 folds) HistGradientBoosting with 200 iterations on one thread, the
`aitrader ml train` default. Inference: `MLGate.check` on the newest candle of a trailing window at
random points (features of the newest row via `compute_last` + the compiled tree evaluator), 2000
decisions, and its two parts timed separately; for reference, scikit-learn's one-row predict_proba
(one thread) that the gate used before. Target: p99 per decision < 2 ms. Wall-clock on this
machine; the load average is printed because a loaded machine inflates every number: with more
runnable threads than cores a decision is now and then preempted for a whole scheduler slice
(several ms), so the decision's own CPU time (`time.thread_time`) is printed too.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from aitrader.core.candles import OHLCV
from aitrader.core.decisions import Decision
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.ml.features import compute_last
from aitrader.ml.forest import compile_forest
from aitrader.ml.gate import MLGate
from aitrader.ml.registry import LoadedModel
from aitrader.ml.train import TrainSpec, predict_proba, train

SAMPLE = Path(__file__).resolve().parents[1] / "src/aitrader/sample_data/ohlcv"
TF_MS = 300_000


def bootstrap_candles(n: int, seed: int = 42, block: int = 288) -> OHLCV:
    """N candles whose per-bar relative moves are blocks of real candles, chained end to end."""
    parts = [
        read_ohlcv_csv(p) for p in sorted(SAMPLE.glob("bittrex_*_BTC-5m.csv")) if "UNITTEST" not in p.name
    ]
    rel = []
    for c in parts:
        prev = c.close[:-1]
        rel.append(
            np.stack(
                [
                    c.open[1:] / prev,
                    c.high[1:] / prev,
                    c.low[1:] / prev,
                    c.close[1:] / prev,
                    c.volume[1:] / np.median(c.volume),
                ],
                axis=1,
            )
        )
    pool = np.concatenate(rel)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(pool) - block, n // block + 1)
    r = np.concatenate([pool[s : s + block] for s in starts])[:n]
    close = np.cumprod(r[:, 3])
    prev = np.r_[1.0, close[:-1]]
    ts = np.arange(n, dtype=np.int64) * TF_MS + 1_514_764_800_000
    return OHLCV.from_arrays(ts, r[:, 0] * prev, r[:, 1] * prev, r[:, 2] * prev, close, r[:, 4] * 100.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candles", type=int, default=1_000_000)
    ap.add_argument("--decisions", type=int, default=2000)
    args = ap.parse_args()
    c = bootstrap_candles(args.candles)
    print(f"load average at the start: {_load()}")
    spec = TrainSpec()
    t0 = time.perf_counter()
    res = train({"BENCH/BTC": c}, TF_MS, spec)
    t_train = time.perf_counter() - t0
    print(
        f"training on {len(c):,} candles ({len(res.dataset):,} samples, {spec.n_folds} folds, "
        f"{spec.max_iter} iterations, 1 thread): {t_train:.1f} s; validation AUC {res.validation['auc']:.3f}"
    )

    gate = MLGate.with_model(LoadedModel("bench", res.model, spec, {}), threshold=0.5, timeframe_ms=TF_MS)
    forest = compile_forest(res.model)
    assert gate.compiled and forest is not None, "the gate fell back to predict_proba"
    forest.warm_up()
    window = spec.features.window(TF_MS)
    rng = np.random.default_rng(1)
    ends = rng.integers(window, len(c), args.decisions)
    total, cpu, feats, preds = [], [], [], []
    for end in ends:
        d = Decision(
            ts=int(c.ts[end - 1]),
            symbol="BENCH/BTC",
            direction=1,
            confidence=1.0,
            price=float(c.close[end - 1]),
        )
        w = c.slice(end - window, end)
        t, tc = time.perf_counter(), time.thread_time()
        gate.check(d, w)
        total.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - tc)
        t = time.perf_counter()
        row = compute_last(w, spec.features, timeframe_ms=TF_MS).reshape(1, -1)
        feats.append(time.perf_counter() - t)
        t = time.perf_counter()
        forest.predict(row)
        preds.append(time.perf_counter() - t)
    _pct("gate decision (features + predict), wall", total, f" (target p99 < 2 ms: {_ok(total)})")
    _pct("gate decision, CPU time of this thread (no preemption)", cpu, f" (p99 < 2 ms: {_ok(cpu)})")
    _pct("  features (compute_last)", feats)
    _pct("  predict (compiled trees)", preds)
    sk = []
    with threadpool_limits(1):
        for end in ends[:200]:
            row = compute_last(c.slice(end - window, end), spec.features, timeframe_ms=TF_MS).reshape(1, -1)
            t = time.perf_counter()
            predict_proba(res.model, row)
            sk.append(time.perf_counter() - t)
    _pct("  for reference: sklearn predict_proba, one row, 1 thread", sk)
    print(f"load average at the end: {_load()}")


def _ok(seconds: list[float]) -> str:
    return "met" if np.percentile(seconds, 99) < 2e-3 else "MISSED"


def _pct(label: str, seconds: list[float], tail: str = "") -> None:
    p50, p99 = np.percentile(np.array(seconds) * 1e3, [50, 99])
    print(f"{label} over {len(seconds)}: p50 {p50:.3f} ms, p99 {p99:.3f} ms{tail}")


def _load() -> str:
    return f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
