"""Test rig for the engine: a feed that delivers every candle (the yardstick), decision patterns on real
candles, and a fixed-stake gate whose kill switch trips on a recorded trade.

Why a separate every-candle feed: `HistoricalFeed(skip=False)` shares its rescheduling code with the
skipping feed, so a bug there hides in both. This one ignores every interest, exactly as a live feed
delivering each closed candle does, so it is the oracle the skipping feed must match.
Why kill on a trade: a kill switch fed by equity fires at whichever candle the feed happens to show
(documented difference); one fired by a closed trade fires at the same fill in every correct feed, and
its flattening touches (reschedules) every other symbol, the case the skipping feed got wrong.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.sizing import FixedStake, Refused
from aitrader.core.candles import OHLCV
from aitrader.core.clock import SimulatedClock
from aitrader.core.decisions import Decision
from aitrader.core.orders import OrderRequest
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.engine.decisions import PrecomputedDecisions
from aitrader.engine.engine import Engine, EngineResult
from aitrader.engine.feed import HistoricalFeed
from aitrader.engine.interest import Interest
from aitrader.engine.ports import EngineFeed
from aitrader.execution.entry_timeout import LimitEntryPolicy
from aitrader.venues.markets import MarketRegistry, MarketRules
from aitrader.venues.sim_models import FeeSchedule
from aitrader.venues.simulated import SimulatedVenue

PAIRS = ("ADA/BTC", "ETC/BTC", "ETH/BTC", "NXT/BTC", "POWR/BTC", "XLM/BTC")  # bundled 5m, aligned clocks


def sample_candles(
    pairs: tuple[str, ...] = PAIRS, start: int = 0, length: int | None = None
) -> dict[str, OHLCV]:
    """Bundled real candles of `pairs`, bars whose open time falls in the window of ETH/BTC's bars
    [start, start + length) (ADA and POWR have gaps, so windows are cut by time, not by index)."""
    folder = resources.files("aitrader").joinpath("sample_data", "ohlcv")
    full = {p: read_ohlcv_csv(str(folder.joinpath(f"bittrex_{p.replace('/', '_')}-5m.csv"))) for p in pairs}
    ref = read_ohlcv_csv(str(folder.joinpath("bittrex_ETH_BTC-5m.csv"))).ts
    end = len(ref) if length is None else min(len(ref), start + length)
    lo, hi = int(ref[start]), int(ref[end - 1])
    out = {}
    for p, c in full.items():
        m = (c.ts >= lo) & (c.ts <= hi)
        out[p] = OHLCV(c.ts[m], c.open[m], c.high[m], c.low[m], c.close[m], c.volume[m])
    return out


class EveryCandleFeed:
    """Every candle of every symbol in (close time, symbol order), interest ignored."""

    def __init__(self, candles: Mapping[str, OHLCV], timeframe: str, clock: SimulatedClock) -> None:
        self._candles = dict(candles)
        self._tf = timeframe_to_ms(timeframe)
        self._clock = clock
        self.timeframe = timeframe

    def events(self) -> Iterator[CandleClosed]:
        streams = [_stream(c, self._tf, rank) for rank, c in enumerate(self._candles.values())]
        symbols = list(self._candles)
        for close, rank, i in heapq.merge(*streams):
            self._clock.advance_to(close)
            yield CandleClosed(symbols[rank], self.timeframe, self._candles[symbols[rank]].candle(i))
        end = max(int(c.ts[-1]) + self._tf for c in self._candles.values() if len(c))
        self._clock.advance_to(max(end, self._clock.now()))

    def set_interest(self, symbol: str, interest: Interest) -> None:
        pass  # a live feed delivers every closed candle anyway

    def last_close(self, symbol: str) -> tuple[int, float] | None:
        c = self._candles[symbol]
        k = int(c.ts.searchsorted(self._clock.now() - self._tf, "right")) - 1
        return (int(c.ts[k]), float(c.close[k])) if k >= 0 else None


def _stream(c: OHLCV, tf_ms: int, rank: int) -> Iterator[tuple[int, int, int]]:
    return ((int(t) + tf_ms, rank, i) for i, t in enumerate(c.ts))


@dataclass(frozen=True, slots=True)
class PatternFrame:
    """Decisions of one pair from a direction array; stop/take a fixed fraction below/above the close."""

    symbol: str
    candles: OHLCV
    dirs: npt.NDArray[np.int8]
    stop_frac: float
    take_frac: float

    @property
    def direction(self) -> npt.NDArray[np.int8]:
        return self.dirs

    def decision_at(self, i: int) -> Decision:
        close = float(self.candles.close[i])
        return Decision(
            ts=int(self.candles.ts[i]), symbol=self.symbol, direction=int(self.dirs[i]), confidence=1.0,
            price=close, stop=close * (1 - self.stop_frac), take=close * (1 + self.take_frac),
            strategy_votes=(("pattern", int(self.dirs[i]), 1.0),),
        )


class KillAfterTrades:
    """Fixed stake; the kill switch trips when the `kill_after`-th round trip closes (never if None).

    Wraps a `FixedStake` instead of subclassing it: the sizer may be compiled (`aitrader.native`), and
    interpreted classes cannot inherit from compiled ones."""

    def __init__(self, stake: Decimal, kill_after: int | None) -> None:
        self.sizer = FixedStake(stake)
        self.ids = self.sizer.ids
        self.kill_after = kill_after

    @property
    def trades(self) -> int:
        return self.sizer.trades

    @property
    def killed(self) -> bool:
        return self.kill_after is not None and self.trades >= self.kill_after

    def size_entry(
        self,
        decision: Decision,
        equity: Decimal,
        open_positions: Mapping[str, Decimal],
        rules: MarketRules,
        now_ms: int,
    ) -> OrderRequest | Refused:
        if self.killed:
            return Refused("killed")  # as risk's manager: no entries once the switch is on
        return self.sizer.size_entry(decision, equity, open_positions, rules, now_ms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sizer, name)  # protective orders, equity and trades: the fixed stake's


def make_engine(
    candles: Mapping[str, OHLCV],
    dirs: Mapping[str, npt.NDArray[np.int8]],
    *,
    dense: bool,
    protect: bool = True,
    stop_frac: float = 0.01,
    take_frac: float = 0.02,
    kill_after: int | None = None,
    max_volume_share: Decimal = Decimal(1),
    stake: Decimal = Decimal("0.5"),
    limit_entries: LimitEntryPolicy | None = None,
) -> Engine:
    """An engine over `candles` with decision `dirs`, not yet run."""
    clock = SimulatedClock(min(int(c.ts[0]) for c in candles.values()))
    src = PrecomputedDecisions(
        {p: PatternFrame(p, c, dirs[p], stop_frac, take_frac) for p, c in candles.items()},
        {p: c.ts for p, c in candles.items()},
    )
    feed: EngineFeed = (
        EveryCandleFeed(candles, "5m", clock)
        if dense
        else HistoricalFeed(candles, "5m", clock, src.directions())
    )
    markets = MarketRegistry.empty("test")
    balances = {"BTC": Decimal(10**6)}
    venue = SimulatedVenue(
        clock, markets, balances, fees=FeeSchedule(Decimal("0.001"), Decimal("0.002")),
        max_volume_share=max_volume_share,
    )
    engine = Engine(
        clock=clock, feed=feed, venue=venue, decisions=src, risk=KillAfterTrades(stake, kill_after),
        markets=markets, ledger=Ledger(balances), quote="BTC", protect=protect,
        limit_entries=limit_entries,
    )
    return engine


def run_engine(
    candles: Mapping[str, OHLCV], dirs: Mapping[str, npt.NDArray[np.int8]], **kw: Any
) -> tuple[EngineResult, int]:
    """One engine run (`make_engine` arguments); returns the result and the events visited."""
    engine = make_engine(candles, dirs, **kw)
    res = engine.run()
    return res, engine.stats.events
