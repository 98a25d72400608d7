"""Streaming twin of `builtin.vwap_reversion`: z-score of the close against the session VWAP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aitrader.core.candles import Candle
from aitrader.core.time import HOUR_MS
from aitrader.indicators.streaming import VWAP
from aitrader.indicators.streaming.precise_std import PreciseRollingStd
from aitrader.strategies.streaming import NAN, Cross, StrategyStream, StreamSignal, emit, nz

if TYPE_CHECKING:
    from aitrader.strategies.builtin.vwap_reversion import VwapReversion


class VwapReversionStream(StrategyStream):
    def __init__(self, s: VwapReversion) -> None:
        from aitrader.strategies.builtin.vwap_reversion import NOISE  # that module imports this one

        self._noise = NOISE
        self._vwap = VWAP(s.p.int("anchor_hours") * HOUR_MS)
        self._p = s.p.int("dev_period")
        self._sd = PreciseRollingStd(self._p)  # z = spread / sd: relative accuracy matters
        self._clean = self._p  # bars since the last hole in the spread
        self._k = s.p.float("k")
        self._low, self._high = Cross(), Cross()

    def update(self, candle: Candle) -> StreamSignal:
        c = candle.close
        vw = self._vwap.update(candle.ts, candle.high, candle.low, c, nz(candle.volume))
        spread = c - vw
        hole = spread != spread  # no VWAP yet this session: undefined std while in the window
        sd = self._sd.update(0.0 if hole else spread)
        self._clean = 0 if hole else self._clean + 1
        if self._clean < self._p:
            sd = NAN
        k = self._k
        z = spread / sd if sd > self._noise * abs(c) else NAN
        _, up = self._low.update(z, -k)  # crossed below -k
        down, _ = self._high.update(z, k)  # crossed above +k
        if not (up or down):
            return emit(False, False)
        return emit(up, down, strength=min(max(0.5 * abs(z) / k, 0.0), 1.0), take=vw)
