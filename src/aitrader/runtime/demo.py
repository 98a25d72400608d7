"""The `make run` demo: the loopback Kraken simulator replaying bundled real candles, a paper session
trading against it, the dashboard on 127.0.0.1.

The simulator serves the bundled Bittrex 5m candles (real data, see sample_data/PROVENANCE.md) as
Kraken pairs, starting `warmup_candles` into the data so strategies have history, replaying at
`candles_per_s` candles per second. The paper session is the same as `aitrader run --mode paper`
pointed at the simulator's URLs. Each demo starts a fresh paper account (its database lives in the
work directory and is recreated), so its admin key is printed at every start.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console

from aitrader.config import Settings, load_settings
from aitrader.core.symbols import parse_dataset_name
from aitrader.runtime.launch import run_session
from aitrader.runtime.session import SessionOptions, SessionResult
from aitrader.venues.simulator import KrakenSimulator, Series, load_series

TIMEFRAME = "5m"
TF_MS = 300_000


@dataclass(frozen=True, slots=True)
class DemoOptions:
    workdir: Path = Path("var/demo")
    candles_per_s: float = 1.0
    port: int = 8080
    duration_s: float | None = None
    warmup_candles: int = 600
    sim_port: int = 0


def bundled_series() -> list[Series]:
    folder = resources.files("aitrader").joinpath("sample_data", "ohlcv")
    out = []
    for res in sorted(folder.iterdir(), key=lambda r: r.name):
        if res.name.startswith("bittrex_") and res.name.endswith(f"-{TIMEFRAME}.csv"):
            if parse_dataset_name(res.name).kind != "spot":
                continue
            with resources.as_file(res) as path:
                out.append(load_series(path))
    return out


def demo_settings(sim: KrakenSimulator, pairs: list[str], opts: DemoOptions) -> Settings:
    return load_settings(
        None,
        mode="paper",
        tenant="demo",
        exchange={"name": "kraken", "pairs": pairs, "api_url": sim.base_url, "ws_url": sim.ws_url},
        data={"timeframe": TIMEFRAME, "datadir": str(opts.workdir / "data")},
        backtest={"starting_balance": "1"},
        storage={"url": f"sqlite:///{opts.workdir / 'demo.db'}"},
        api={"host": "127.0.0.1", "port": opts.port},
    )


async def run_demo(opts: DemoOptions, console: Console) -> SessionResult:
    series = bundled_series()
    start = max(s.ts[0] for s in series) + opts.warmup_candles * TF_MS
    sim = KrakenSimulator(series, start_ms=start, speed=opts.candles_per_s * TF_MS / 1000.0)
    await sim.start("127.0.0.1", opts.sim_port)
    try:
        opts.workdir.mkdir(parents=True, exist_ok=True)
        for name in ("demo.db", "demo.db-wal", "demo.db-shm"):
            with contextlib.suppress(FileNotFoundError):
                (opts.workdir / name).unlink()
        pairs = [s.symbol for s in series]
        settings = demo_settings(sim, pairs, opts)
        console.print(
            f"kraken simulator on {sim.base_url}: {len(pairs)} pairs of real Bittrex 5m candles, "
            f"{opts.candles_per_s:g} candle(s) per second",
            highlight=False,
        )
        session_opts = SessionOptions(mode="paper", duration_s=opts.duration_s, api=True, api_port=opts.port)
        return await run_session(settings, session_opts, console)
    finally:
        await sim.stop()
