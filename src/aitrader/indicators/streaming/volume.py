"""Streaming volume indicators: OBV and session-anchored VWAP (mirrors of `aitrader.indicators.volume`)."""

from __future__ import annotations

from aitrader.indicators.streaming._base import NAN, any_nan, check_period


class OBV:
    """On-Balance Volume; warmup = 0 (starts at the first bar's volume)."""

    warmup = 0

    def __init__(self) -> None:
        self._pc = NAN
        self.value = NAN

    def update(self, close: float, volume: float) -> float:
        if self._pc != self._pc:
            if any_nan(close, volume):
                return NAN
            self.value = volume
        elif close > self._pc:
            self.value += volume
        elif close < self._pc:
            self.value -= volume
        self._pc = close
        return self.value


class VWAP:
    """VWAP of the typical price since the start of the UTC session floor(ts/anchor_ms).

    warmup = 0; NaN while the current session has no volume yet.
    """

    warmup = 0

    def __init__(self, anchor_ms: int = 86_400_000) -> None:
        self.anchor_ms = check_period(anchor_ms, 1, "anchor_ms")
        self._session: int | None = None
        self._pv = 0.0
        self._v = 0.0
        self.value = NAN

    def update(self, ts: int, high: float, low: float, close: float, volume: float) -> float:
        if self._session is None and any_nan(high, low, close, volume):
            return NAN
        s = int(ts) // self.anchor_ms
        if s != self._session:
            self._session = s
            self._pv = 0.0
            self._v = 0.0
        self._pv += (high + low + close) / 3.0 * volume
        self._v += volume
        self.value = self._pv / self._v if self._v > 0 else NAN
        return self.value
