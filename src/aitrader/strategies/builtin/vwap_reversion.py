"""VWAP reversion: fade intraday stretches away from the session VWAP."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aitrader.core.candles import OHLCV
from aitrader.core.time import DAY_MS, HOUR_MS
from aitrader.indicators import rolling_std, vwap
from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below
from aitrader.strategies.params import Param
from aitrader.strategies.streaming import StrategyStream
from aitrader.strategies.streams.vwap_reversion import VwapReversionStream

NOISE = 1e-9  # spread std / price below this is float residue


class VwapReversion(Strategy):
    """Long when price stretches `k` deviations below the anchored VWAP; short/exit `k` above.

    VWAP is the session's average traded price, where liquidity providers lean; extreme distance
    from it tends to revert. The deviation is (close - VWAP) over the rolling std of that spread,
    and the event fires on the bar it crosses -k (long) or +k (short). Take hint: the VWAP itself.
    Strength grows with the stretch (0.5 at k, 1 at 2k).

    A bar without a VWAP (its session has had no volume yet) leaves a hole in the spread: the std
    is undefined on exactly the `dev_period` windows containing it, so nothing fires until the
    window is clean again. (Handing the NaN to `rolling_std` would blank a span that depends on
    its internal blocking, i.e. on how much history was passed.) A std below `NOISE` x the price
    is the VWAP's rounding residue, not a market (>= 1e-4 on every bundled file): no z there, so
    ulp-sized spreads on a flat market cannot fire.
    """

    name = "vwap_reversion"
    description = "Stretch from the anchored (daily) VWAP, target the VWAP"
    style = "reversion"
    params = (
        Param("dev_period", "int", 50, low=10, high=500, step=5, help="bars for the spread's std"),
        Param("k", "float", 2.5, low=1.0, high=5.0, step=0.1, help="stretch in standard deviations"),
        Param("anchor_hours", "int", 24, low=1, high=168, step=1, help="VWAP session length in hours"),
    )

    @property
    def warmup(self) -> int:
        return self.p.int("dev_period") + 1

    @property
    def history(self) -> int:
        # the VWAP restarts every session, so one session plus the std window reproduces it exactly
        return self.p.int("anchor_hours") * HOUR_MS // 60_000 + self.warmup + 2

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        anchor = self.p.int("anchor_hours") * HOUR_MS
        vw = vwap(candles.ts, candles.high, candles.low, candles.close, np.nan_to_num(candles.volume), anchor)
        spread = candles.close - vw
        p = self.p.int("dev_period")
        hole = np.isnan(spread)
        sd = rolling_std(np.where(hole, 0.0, spread), p)
        if hole.any():
            seen = np.cumsum(hole)
            seen[p:] -= seen[:-p].copy()
            sd[seen > 0] = np.nan
        k = self.p.float("k")
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > NOISE * np.abs(candles.close), spread / sd, np.nan)
        up, down = crossed_below(z, -k), crossed_above(z, k)
        strength = np.clip(0.5 * np.abs(z) / k, 0.0, 1.0)
        return Signals.from_events(up, down, strength=strength, take=vw)

    def streamer(self) -> StrategyStream:
        """O(1) per candle, equal to `compute` bar by bar (`strategies.streams.vwap_reversion`)."""
        return VwapReversionStream(self)

    def explain(self, direction: int) -> str:
        side = "below" if direction > 0 else "above"
        hours = self.p.int("anchor_hours")
        session = "daily" if hours * HOUR_MS == DAY_MS else f"{hours}h"
        return f"close {self.p.float('k'):g} std {side} the {session} VWAP"
