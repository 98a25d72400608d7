"""Data-layer speed figures vs targets: `python bench/data.py` (prints one line per figure).

Data: 1,000,000 1m candles from the anchors' generator (`shared/bench/gen_data.py`, seed 42,
dataset (a)), generated in a child process so its pandas/scipy memory does not count toward the peak
RSS measured here. Timings are the best of several runs (the machine is shared), except the one-off
import. Targets: store read < 0.2 s, resample 1m->5m < 0.1 s, CSV read well under 1 s, peak RSS
< 500 MB. The shared folder is `shared/` beside the checkout, or $AITRADER_SHARED.
Exit code 1 when a target is missed (a figure marked SLOW or HIGH).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CHILD = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("gen_data", sys.argv[1])
gen = importlib.util.module_from_spec(spec); spec.loader.exec_module(gen)
from aitrader.core.candles import OHLCV
from aitrader.data.csv_io import write_ohlcv_csv
child = np.random.SeedSequence(42).spawn(2 + len(gen.PAIRS_20))
df = gen.make_ohlcv(int(sys.argv[3]), np.random.default_rng(child[0]), 100.0)
write_ohlcv_csv(sys.argv[2], OHLCV.from_arrays(*(df[c].to_numpy() for c in df.columns)))
"""


def shared_dir() -> Path:
    """The project's shared folder: $AITRADER_SHARED, else `shared/` beside the checkout."""
    env = os.environ.get("AITRADER_SHARED")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[1].parent / "shared"


def gen_script() -> Path:
    """The anchors' data generator `<shared>/bench/gen_data.py`; exits with a clear message if absent."""
    path = shared_dir() / "bench" / "gen_data.py"
    if not path.is_file():
        sys.exit(
            f"benchmark data generator not found: {path}\n"
            "set AITRADER_SHARED to the shared folder (the one holding bench/gen_data.py), "
            "or place it as `shared/` beside the checkout"
        )
    return path


def best(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    out: T | None = None
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    assert out is not None
    return min(times), out


def line(what: str, seconds: float, target: float | None = None, extra: str = "") -> bool:
    """Print one figure; False when it misses its target (True without one)."""
    met = target is None or seconds < target
    verdict = "" if target is None else ("  OK" if met else "  SLOW")
    tgt = "" if target is None else f"  (target < {target:g} s)"
    print(f"{what:<42} {seconds:8.4f} s{tgt}{verdict}{extra}")
    return met


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    gen = gen_script()

    from aitrader.data.csv_io import read_ohlcv_csv
    from aitrader.data.resample import resample
    from aitrader.data.store import HistoryStore
    from aitrader.data.validate import check

    with tempfile.TemporaryDirectory(prefix="aitrader-bench-") as tmp:
        csv_path = Path(tmp) / "binance_BTC_USDT-1m.csv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", _CHILD, str(gen), str(csv_path), str(args.rows)], check=True)
        gen_s = time.perf_counter() - t0
        mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} 1m candles generated + written as CSV ({mb:.0f} MB) in {gen_s:.1f} s (child)")

        store = HistoryStore(Path(tmp) / "store")
        t0 = time.perf_counter()
        ohlcv = read_ohlcv_csv(csv_path)
        csv_s = time.perf_counter() - t0
        added = store.write("binance", "BTC/USDT", "1m", ohlcv)
        import_s = time.perf_counter() - t0
        assert added == args.rows == len(ohlcv)
        met = [line("CSV read (first, one-off)", csv_s, 1.0)]
        line("import CSV -> store (read + write)", import_s, None)
        rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        csv_best, _ = best(lambda: read_ohlcv_csv(csv_path), args.runs)
        met.append(line("CSV read (best)", csv_best, 1.0))

        read_s, got = best(lambda: store.read("binance", "BTC/USDT", "1m"), args.runs)
        assert len(got) == args.rows
        rate = f"  {args.rows / read_s / 1e6:.0f} M candles/s"
        met.append(line("store read, all candles", read_s, 0.2, rate))
        day = int(got.ts[len(got) // 2])
        rng_s, part = best(lambda: store.read("binance", "BTC/USDT", "1m", day, day + 86_400_000), args.runs)
        line(f"store read, one day ({len(part)} candles)", rng_s, None)
        ds_s, _ = best(store.datasets, args.runs)
        line("store datasets() listing", ds_s, None)
        app_s, _ = best(lambda: store.write("binance", "BTC/USDT", "1m", got.slice(len(got) - 60)), 3)
        line("store append 60 overlapping candles", app_s, None)

        rs_s, m5 = best(lambda: resample(got, "1m", "5m"), args.runs)
        assert len(m5) == args.rows // 5
        met.append(line("resample 1m -> 5m", rs_s, 0.1))
        rs_h, _ = best(lambda: resample(got, "1m", "1h"), args.runs)
        line("resample 1m -> 1h", rs_h, None)

        chk_s, report = best(lambda: check(got, "1m"), 3)
        found = f"  ({len(report.errors)} errors, {len(report.warnings)} warnings)"
        line("validate.check", chk_s, None, found)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    verdict = "OK" if peak_mb < 500 else "HIGH"
    print(f"{'peak RSS after the import':<42} {rss_import:8.0f} MB")
    print(f"{'peak RSS (whole run, this process)':<42} {peak_mb:8.0f} MB  (target < 500 MB)  {verdict}")
    met.append(peak_mb < 500)
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
