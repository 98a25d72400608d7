"""Our indicators vs TA-Lib on 1M closes (random walk, seed 42), plus JIT start-up cost.

Run: .venv/bin/python bench/indicators.py. Targets: within ~3x of TA-Lib per indicator
(anchors in `shared/bench/ANCHORS.md`, `shared/` being the folder beside the checkout). Times are
the best of 7 runs in ms of *process CPU time* (time.process_time: includes page faults, excludes
time spent waiting for a core), because the benchmark machine is shared; both columns are measured
the same way. Start-up times below are wall-clock (numba compiles on one core), so they grow with
the machine's load.

Start-up: the kernels are compiled by numba on first use and cached on disk. The bench measures,
in fresh subprocesses with an empty private NUMBA_CACHE_DIR (so the repository's cache is neither
used nor touched): `import aitrader.indicators`, then the first call of every indicator on 1k
bars — "cold" (compiling) and "warm" (second process, loading the cache). "import" excludes
numpy, which the bench has already imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

N = 1_000_000


def best_ms(fn: Callable[[], object], repeat: int = 7) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best * 1e3


def data(n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(42)
    c = 1000.0 + np.cumsum(rng.normal(0, 1, n))
    h = c + rng.uniform(0, 1, n)
    lo = c - rng.uniform(0, 1, n)
    v = rng.uniform(1, 100, n)
    ts = np.arange(n, dtype=np.int64) * 60_000
    return ts, h, lo, c, v


def startup() -> None:
    """Child process: import time and first-call time of the whole set (prints JSON)."""
    t0 = time.perf_counter()
    import aitrader.indicators as ind

    t1 = time.perf_counter()
    ts, h, lo, c, v = data(1000)
    calls: list[Callable[[], object]] = [
        lambda: ind.sma(c, 20),
        lambda: ind.ema(c, 12),
        lambda: ind.wma(c, 20),
        lambda: ind.rolling_std(c, 20),
        lambda: ind.rsi(c, 14),
        lambda: ind.macd(c),
        lambda: ind.bbands(c, 20),
        lambda: ind.true_range(h, lo, c),
        lambda: ind.atr(h, lo, c, 14),
        lambda: ind.adx(h, lo, c, 14),
        lambda: ind.plus_di(h, lo, c, 14),
        lambda: ind.minus_di(h, lo, c, 14),
        lambda: ind.stoch(h, lo, c),
        lambda: ind.cci(h, lo, c, 20),
        lambda: ind.obv(c, v),
        lambda: ind.mfi(h, lo, c, v, 14),
        lambda: ind.donchian(h, lo, 20),
        lambda: ind.keltner(h, lo, c),
        lambda: ind.vwap(ts, h, lo, c, v),
        lambda: ind.percentile_rank(c, 100),
    ]
    for f in calls:
        f()
    t2 = time.perf_counter()
    for f in calls:
        f()
    t3 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first": t2 - t1, "again": t3 - t2}))


def measure_startup() -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold (compile)", "warm (cache)"):
            out = subprocess.run(
                [sys.executable, __file__, "--startup"], env=env, check=True, capture_output=True, text=True
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(
                f"start-up {label:<15} import {r['import']:6.2f} s  first call of all 20: "
                f"{r['first']:6.2f} s  (then {r['again'] * 1e3:.1f} ms)"
            )


def main() -> None:
    import talib

    import aitrader.indicators as ind

    ts, h, lo, c, v = data(N)
    cases: list[tuple[str, Callable[[], object], Callable[[], object] | None]] = [
        ("SMA20", lambda: ind.sma(c, 20), lambda: talib.SMA(c, 20)),
        ("EMA12", lambda: ind.ema(c, 12), lambda: talib.EMA(c, 12)),
        ("WMA20", lambda: ind.wma(c, 20), lambda: talib.WMA(c, 20)),
        ("STDDEV20", lambda: ind.rolling_std(c, 20), lambda: talib.STDDEV(c, 20)),
        ("RSI14", lambda: ind.rsi(c, 14), lambda: talib.RSI(c, 14)),
        ("MACD", lambda: ind.macd(c), lambda: talib.MACD(c)),
        ("BBANDS20", lambda: ind.bbands(c, 20), lambda: talib.BBANDS(c, 20)),
        ("TRANGE", lambda: ind.true_range(h, lo, c), lambda: talib.TRANGE(h, lo, c)),
        ("ATR14", lambda: ind.atr(h, lo, c, 14), lambda: talib.ATR(h, lo, c, 14)),
        ("ADX14", lambda: ind.adx(h, lo, c, 14), lambda: talib.ADX(h, lo, c, 14)),
        ("PLUS_DI14", lambda: ind.plus_di(h, lo, c, 14), lambda: talib.PLUS_DI(h, lo, c, 14)),
        ("STOCH", lambda: ind.stoch(h, lo, c), lambda: talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)),
        ("CCI20", lambda: ind.cci(h, lo, c, 20), lambda: talib.CCI(h, lo, c, 20)),
        ("OBV", lambda: ind.obv(c, v), lambda: talib.OBV(c, v)),
        ("MFI14", lambda: ind.mfi(h, lo, c, v, 14), lambda: talib.MFI(h, lo, c, v, 14)),
        ("DONCHIAN20", lambda: ind.donchian(h, lo, 20), lambda: (talib.MAX(h, 20), talib.MIN(lo, 20))),
        ("KELTNER", lambda: ind.keltner(h, lo, c), None),
        ("VWAP(day)", lambda: ind.vwap(ts, h, lo, c, v), None),
        ("PCTRANK100", lambda: ind.percentile_rank(c, 100), None),
    ]
    print(f"{'indicator':<12} {'ours ms':>9} {'talib ms':>9} {'ratio':>6}")
    for name, ours, ref in cases:
        a = best_ms(ours)
        if ref is None:
            print(f"{name:<12} {a:9.2f} {'-':>9} {'-':>6}")
        else:
            b = best_ms(ref)
            print(f"{name:<12} {a:9.2f} {b:9.2f} {a / b:6.2f}")

    # a typical strategy stack, all on the same candles
    def stack_ours() -> None:
        ind.ema(c, 12), ind.ema(c, 26), ind.rsi(c, 14), ind.macd(c), ind.bbands(c, 20)
        ind.atr(h, lo, c, 14), ind.adx(h, lo, c, 14), ind.stoch(h, lo, c), ind.mfi(h, lo, c, v, 14)

    def stack_talib() -> None:
        talib.EMA(c, 12), talib.EMA(c, 26), talib.RSI(c, 14), talib.MACD(c), talib.BBANDS(c, 20)
        talib.ATR(h, lo, c, 14), talib.ADX(h, lo, c, 14), talib.STOCH(h, lo, c), talib.MFI(h, lo, c, v, 14)

    a, b = best_ms(stack_ours), best_ms(stack_talib)
    print(f"{'STACK(9)':<12} {a:9.2f} {b:9.2f} {a / b:6.2f}   EMA12/26 RSI MACD BBANDS ATR ADX STOCH MFI")
    measure_startup()


if __name__ == "__main__":
    if sys.argv[1:] == ["--startup"]:
        startup()
    else:
        main()
