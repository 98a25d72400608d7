"""Deliberately dishonest strategies: the lookahead guard must catch every one of them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import talib

from aitrader.core.candles import OHLCV
from aitrader.strategies import Signals, Strategy
from aitrader.strategies.events import crossed_above, crossed_below
from aitrader.strategies.timeframes import align_closed, take_aligned


class NextClose(Strategy):
    """Buys when tomorrow's close is higher: close shifted by -1."""

    name = "leak_next_close"
    description = "peeks at the next close"

    @property
    def warmup(self) -> int:
        return 1

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        nxt = np.append(candles.close[1:], np.nan)
        return Signals.from_events(crossed_above(nxt, candles.close), crossed_below(nxt, candles.close))


class CentredMean(Strategy):
    """Close crossing a centred (non-causal) 21-bar rolling mean."""

    name = "leak_centred_mean"
    description = "centred rolling mean"

    @property
    def warmup(self) -> int:
        return 21

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        m = np.full(len(candles), np.nan)
        m[:-10] = talib.SMA(candles.close, 21)[10:]  # value at t averages t-10 .. t+10
        c = candles.close
        return Signals.from_events(crossed_above(c, m), crossed_below(c, m))


class _HigherTrend(Strategy):
    description = "close crossing the 1h close"
    informative_timeframes = ("1h",)
    base_tf = "5m"

    @property
    def warmup(self) -> int:
        return 12

    def _index(self, candles: OHLCV, higher: OHLCV) -> np.ndarray:
        raise NotImplementedError

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        assert informative is not None
        higher = informative["1h"]
        hc = take_aligned(higher.close, self._index(candles, higher))
        c = candles.close
        return Signals.from_events(crossed_above(c, hc), crossed_below(c, hc))


class FormingHigherCandle(_HigherTrend):
    """Uses the 1h candle that CONTAINS the 5m bar (its close lies in the future)."""

    name = "leak_forming_1h"

    def _index(self, candles: OHLCV, higher: OHLCV) -> np.ndarray:
        return np.searchsorted(higher.ts, candles.ts, side="right") - 1


class ClosedHigherCandle(_HigherTrend):
    """The honest version: the last 1h candle closed by the 5m bar's close."""

    name = "honest_closed_1h"

    def _index(self, candles: OHLCV, higher: OHLCV) -> np.ndarray:
        return align_closed(candles.ts, self.base_tf, higher, "1h")
