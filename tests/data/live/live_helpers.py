"""Helpers of the live market-data tests (imported by name: tests are not a package)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aitrader.venues.simulator import KrakenSimulator

ETH_BTC = (
    Path(__file__).resolve().parents[3]
    / "src"
    / "aitrader"
    / "sample_data"
    / "ohlcv"
    / "bittrex_ETH_BTC-5m.csv"
)
START = 200  # candles closed when a test starts


class SimClock:
    """The simulator's replay time as our Clock: candles close when the replayed market says so."""

    def __init__(self, sim: KrakenSimulator) -> None:
        self.sim = sim

    def now(self) -> int:
        return self.sim.clock.now()


async def eventually(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, f"not reached in {timeout}s: {what}"
        await asyncio.sleep(0.01)
