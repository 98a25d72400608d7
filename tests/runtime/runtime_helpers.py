"""Runtime fixtures: real bundled candles served by the loopback Kraken simulator, settings pointing at it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aitrader.config import Settings, load_settings
from aitrader.venues.simulator import KrakenSimulator, Series, load_series

OHLCV = Path(__file__).resolve().parents[2] / "src" / "aitrader" / "sample_data" / "ohlcv"
FIVE_MIN = 300_000


def series(pair: str, n: int, start: int = 0) -> Series:
    """The first `n` candles (from `start`) of the bundled Bittrex 5m file of `pair` ("ETH_BTC")."""
    full = load_series(OHLCV / f"bittrex_{pair}-5m.csv")
    return Series(full.symbol, full.timeframe, full.rows[start : start + n])


def settings_for(sim: KrakenSimulator, pairs: list[str], db_url: str, **extra: Any) -> Settings:
    return load_settings(
        None,
        tenant="t1",
        exchange={"name": "kraken", "pairs": pairs, "api_url": sim.base_url, "ws_url": sim.ws_url},
        # sessions under test record no history unless a test asks (the default datadir is the cwd's)
        data={"timeframe": "5m", "record_history_ms": 0, **extra.pop("data", {})},
        backtest={"starting_balance": "1", **extra.pop("backtest", {})},
        storage={"url": db_url, **extra.pop("storage", {})},
        **extra,
    )


async def eventually(cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(session: Any, sim: Any, *after: Callable[[], Awaitable[object]]) -> AsyncIterator[Any]:
    """Run `session` (no signal handlers) for the block, then stop it cleanly and wait for it; on the
    way out (also on failure) the simulator and anything in `after` are stopped."""
    task = asyncio.create_task(session.run(install_signals=False))
    try:
        yield task
        session.supervisor.request_stop("test done")
        await asyncio.wait_for(task, 30)
    finally:
        if not task.done():
            task.cancel()
        await sim.stop()
        for stop in after:
            await stop()


async def replay_live(
    session: Any, sim: Any, api_key: str, candles: int, pairs: int, pause_s: float = 0.0
) -> None:
    """Drive a live session: advance the simulator one candle at a time, each time waiting (bounded)
    for the session to take the `pairs` new candles in and for its orders to reach the exchange before
    the market moves on (`pause_s` more: pump ticks between candles); then wait until our fills equal
    the exchange's for account `api_key`."""
    await eventually(lambda: "engine" in session.supervisor.names(), timeout=60, what="start")
    loop = asyncio.get_running_loop()
    for _ in range(candles):
        seen = session.candles
        sim.advance(FIVE_MIN)
        end = loop.time() + 1.0
        while session.candles < seen + pairs and loop.time() < end:
            await asyncio.sleep(0.005)
        inner = getattr(session.venue, "inner", None)
        while inner is not None and not inner.idle() and loop.time() < end + 2.0:
            await asyncio.sleep(0.005)
        if pause_s:
            await asyncio.sleep(pause_s)
    venue = session.venue.inner
    await eventually(venue.idle, timeout=30, what="venue idle")
    venue.poke()

    def settled() -> bool:  # the poller and the pump have brought in what the streams lost
        known = {o.request.client_id: o.filled for o in session.engine.om.orders()}
        remote = [o for o in sim.engine.orders.values() if o.api_key == api_key]
        return all(known.get(str(o.cl_ord_id)) == o.vol_exec for o in remote)

    await eventually(settled, timeout=30, what="local fills == exchange fills")


@dataclass
class LiveRig:
    """A started simulator of one bundled pair, an account on it, and live settings pointing there."""

    sim: KrakenSimulator
    url: str
    settings: Settings
    opts: Any  # SessionOptions(mode="live") with the account's keys
    api_key: str


async def resting_limit_entries(tmp_path: Path, timeout_ms: int, max_replaces: int = 1) -> LiveRig:
    """Live settings whose limit entries rest (900 bps below the market) until `timeout_ms` ends them."""
    from aitrader.runtime.session import SessionOptions

    feeds = [series("ETH_BTC", 900)]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[300])
    await sim.start()
    acc = sim.add_account({"BTC": "1"})
    url = f"sqlite:///{tmp_path / 'live.db'}"
    execution = {
        "entry_order": "limit",
        "entry_limit_offset_bps": "900",
        "limit_entry_timeout_ms": timeout_ms,
        "limit_entry_max_replaces": max_replaces,
    }
    risk = {"max_exposure_per_pair": "0.5"}
    settings = settings_for(sim, [feeds[0].symbol], url, risk=risk, execution=execution)
    settings.exchange.rate_limit_ms = 5
    opts = SessionOptions(mode="live", exchange_keys=(acc.api_key, acc.secret), max_lag_s=1.0)
    return LiveRig(sim, url, settings, opts, acc.api_key)
