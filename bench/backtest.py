"""Backtest speed: `python bench/backtest.py` prints candles/s and peak RSS against the targets.

(a) reference mode (ema_cross, stake 1000, fee 0.1 %, no stops) on 1 pair x 1M 1m candles, timed
    end to end (signals + trades); vectorbt's Portfolio.from_signals runs on the same signals in this
    process (after a warm-up call, so numba's JIT is not counted) and the ratio is printed.
    Targets: >= 2M candles/s; within 3x of vectorbt.
(b) full stack (every built-in strategy -> confluence -> risk -> simulated venue with stops/takes ->
    ledger, through the Engine) on 20 pairs x 100k 1m candles, twice: with the default risk limits
    (the drawdown kill switch trips early on these random walks, after which most candles are
    skipped) and with the kill switch and daily-loss limit off (every candle traded through).
    Targets, judged on the second run: >= 200k candle-pairs/s; peak RSS < 2 GB.

    Anchor: freqtrade's backtesting on the same data (its (b) candles/s from ANCHORS.md), which the
    issue means to beat by >= 10x; the ratio is printed (informational, not part of the exit code).

Data: generated in memory with `shared/bench/gen_data.py`'s `make_ohlcv` (seed 42, the same series the
anchors in `shared/bench/ANCHORS.md` were measured on), imported via importlib. `shared/` is the folder
beside the checkout (`../shared` from the repository root), or `$AITRADER_SHARED` when set.
Exit code 1 when a target is missed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from aitrader import native
from aitrader.backtest.reference import reference_trades
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import StrategyRef, load_settings
from aitrader.core.candles import OHLCV
from aitrader.strategies import registry


def shared_dir() -> Path:
    """`$AITRADER_SHARED`, else `shared/` beside the checkout (bench/ -> repo root -> its parent)."""
    env = os.environ.get("AITRADER_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


SHARED = shared_dir()
GEN = SHARED / "bench" / "gen_data.py"
ANCHORS = SHARED / "bench" / "ANCHORS.md"
ANCHOR_TOOL = "freqtrade"
ANCHOR_FACTOR = 10.0


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_data", GEN)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _ohlcv(df: Any) -> OHLCV:
    return OHLCV.from_arrays(df.timestamp, df.open, df.high, df.low, df.close, df.volume)


def data_a(gen: Any) -> OHLCV:
    ss = np.random.SeedSequence(42)
    child = ss.spawn(2 + len(gen.PAIRS_20))
    return _ohlcv(gen.make_ohlcv(1_000_000, np.random.default_rng(child[0]), 100.0))


def data_b(gen: Any) -> dict[str, OHLCV]:
    ss = np.random.SeedSequence(42)
    child = ss.spawn(2 + len(gen.PAIRS_20))
    p0s = 10 ** np.random.default_rng(child[-1]).uniform(-1, 4, len(gen.PAIRS_20))
    return {
        pair: _ohlcv(gen.make_ohlcv(100_000, np.random.default_rng(child[1 + i]), float(p0s[i])))
        for i, pair in enumerate(gen.PAIRS_20)
    }


def _rate(cell: str) -> float | None:
    """`27.7 k` / `3.3 M` / `950` (candles/s as ANCHORS.md writes them) -> a number."""
    m = re.fullmatch(r"([\d.,]+)\s*([kM]?)", cell.strip())
    if m is None:
        return None
    return float(m.group(1).replace(",", "")) * {"": 1.0, "k": 1e3, "M": 1e6}[m.group(2)]


def anchor_rate_b(path: Path = ANCHORS, tool: str = ANCHOR_TOOL) -> tuple[str, float] | None:
    """(row label, (b) candles/s) of `tool` in the anchors table, or None when it cannot be read.

    The table's header names its columns; the (b) rate is the `candles/s` column after the one whose
    header starts with `(b)`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if not cells[0].lower().startswith(tool.lower()):
            continue
        col = next((i for i, h in enumerate(header) if h.startswith("(b)")), None)
        if col is None or col + 1 >= len(cells) or not header[col + 1].startswith("candles/s"):
            return None
        rate = _rate(cells[col + 1])
        return (cells[0].replace("`", ""), rate) if rate else None
    return None


def peak_rss_mb() -> float:
    mem = psutil.Process().memory_info()
    peak = getattr(mem, "peak_wset", None)
    if peak is None:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    return float(peak) / 2**20


def bench_a(c: OHLCV) -> tuple[bool, list[str]]:
    strategy = registry.create("ema_cross")
    strategy.compute(c.slice(0, 1000))  # numba JIT / cache load, not timed (as vectorbt's warm-up below)
    t0 = time.perf_counter()
    sig = strategy.compute(c)
    trades = reference_trades(c, sig.direction, 1000.0, 0.001, "BTC/USDT", "ema_cross")
    ours = time.perf_counter() - t0
    rate = len(c) / ours
    lines = [
        f"(a) reference 1 x {len(c):,}: {ours:.3f} s, {rate / 1e6:.2f} M candles/s, {len(trades)} trades"
    ]
    ok = rate >= 2e6
    try:
        import pandas as pd
        import vectorbt as vbt
    except ImportError:
        lines.append("    vectorbt not installed: ratio not measured")
        return ok, lines
    entries = np.zeros(len(c), dtype=bool)
    exits = np.zeros(len(c), dtype=bool)
    entries[1:] = sig.direction[:-1] > 0
    exits[1:] = sig.direction[:-1] < 0
    idx = pd.RangeIndex(len(c))
    args = {
        "close": pd.Series(c.close, idx), "entries": pd.Series(entries, idx), "exits": pd.Series(exits, idx),
        "price": pd.Series(c.open, idx), "size": 1000.0, "size_type": "value", "fees": 0.001,
        "init_cash": np.inf,
    }
    small = {k: (v.iloc[:1000] if isinstance(v, pd.Series) else v) for k, v in args.items()}
    _ = vbt.Portfolio.from_signals(**small).trades.records  # JIT warm-up, not timed
    t0 = time.perf_counter()
    pf = vbt.Portfolio.from_signals(**args)
    n_vbt = len(pf.trades.records)
    theirs = time.perf_counter() - t0
    ratio = ours / theirs
    lines.append(
        f"    vectorbt from_signals on the same signals: {theirs:.3f} s ({n_vbt} trades); "
        f"ours / vectorbt = {ratio:.2f}x (target <= 3x)"
    )
    lines.append(f"    target >= 2M candles/s: {'OK' if rate >= 2e6 else 'MISSED'}; "
                 f"within 3x of vectorbt: {'OK' if ratio <= 3 else 'MISSED'}")
    return ok and ratio <= 3 and n_vbt == len(trades), lines


def bench_b(candles: dict[str, OHLCV], *, limits: bool) -> tuple[bool, list[str]]:
    """`limits`: the default risk config. With it, the 20 % drawdown kill switch trips early on these
    random walks and the engine then skips most candles (no interest without positions), which
    flatters the figure; without (`max_drawdown` and `daily_loss_limit` at 100 %) the whole stack
    trades through every candle. Both are printed; the targets are judged on the run without."""
    risk = {} if limits else {"max_drawdown": "1", "daily_loss_limit": "1"}
    settings = load_settings(
        None, backtest={"quote_currency": "USDT", "starting_balance": "100000"}, risk=risk
    )
    spec = BacktestSpec(
        exchange="bench", pairs=list(candles), timeframe="1m",
        strategies=[StrategyRef(name=n) for n in sorted(registry.available())],
    )
    stages: dict[str, float] = {}

    def progress(stage: str, frac: float) -> None:
        stages[stage] = time.perf_counter()  # when each stage last reported

    t0 = time.perf_counter()
    result = run_backtest(settings, spec, Path("."), candles=candles, progress=progress)
    took = time.perf_counter() - t0
    signals_s = stages.get("signals", t0) - t0  # confluence precompute, done before the engine starts
    total = sum(len(c) for c in candles.values())
    rate = total / took
    rss = peak_rss_mb()
    assert result.stats is not None
    lines = [
        f"(b) full stack {len(candles)} x {total // len(candles):,} ({len(spec.strategies)} strategies, "
        f"{'default risk limits' if limits else 'kill switch and daily-loss limit off'}): "
        f"{took:.2f} s, {rate / 1e3:.0f} k candle-pairs/s, {len(result.report.trades)} trades, "
        f"{result.stats.events:,} engine events, peak RSS {rss:,.0f} MB",
        f"    of which confluence precompute {signals_s:.2f} s, engine + report {took - signals_s:.2f} s; "
        f"engine core {native.describe()}",
        f"    target >= 200k candle-pairs/s: {'OK' if rate >= 2e5 else 'MISSED'}; "
        f"peak RSS < 2 GB: {'OK' if rss < 2048 else 'MISSED'}",
    ]
    anchor = anchor_rate_b()
    if anchor is None:
        lines.append(f"    anchor: no {ANCHOR_TOOL} (b) figure readable in {ANCHORS}")
    else:
        label, theirs = anchor
        ratio = rate / theirs
        lines.append(
            f"    anchor {label} (b): {theirs / 1e3:,.1f} k candle-pairs/s; ours / theirs = {ratio:,.1f}x "
            f"(goal >= {ANCHOR_FACTOR:g}x): {'OK' if ratio >= ANCHOR_FACTOR else 'MISSED'}"
        )
    return rate >= 2e5 and rss < 2048, lines


def main() -> int:
    gen = _gen()
    ok_a, lines_a = bench_a(data_a(gen))
    print("\n".join(lines_a), flush=True)
    candles_b = data_b(gen)
    _ok, lines_limits = bench_b(candles_b, limits=True)
    print("\n".join(lines_limits), flush=True)
    ok_b, lines_b = bench_b(candles_b, limits=False)
    print("\n".join(lines_b), flush=True)
    return 0 if ok_a and ok_b else 1


if __name__ == "__main__":
    sys.exit(main())
