"""Pairs (streaming class, vectorised function) and a driver that runs both over the same bars."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import aitrader.indicators as ind
import aitrader.indicators.streaming as st


@dataclass(frozen=True)
class Spec:
    name: str
    make: Callable[[], Any]
    cols: tuple[str, ...]  # which of ts/high/low/close/volume update() takes, in order
    vec: Callable[..., Any]  # same columns -> array or tuple of arrays
    floor: str  # "osc" (0..100 scale), "price", "disp" (dispersion ~ price*1e-4), "vol"


SPECS = [
    Spec("SMA", lambda: st.SMA(7), ("close",), lambda c: ind.sma(c, 7), "price"),
    Spec("EMA", lambda: st.EMA(12), ("close",), lambda c: ind.ema(c, 12), "price"),
    Spec("WMA", lambda: st.WMA(9), ("close",), lambda c: ind.wma(c, 9), "price"),
    Spec("RollingStd", lambda: st.RollingStd(5), ("close",), lambda c: ind.rolling_std(c, 5), "disp"),
    Spec("RollingStd1", lambda: st.RollingStd(4, 1), ("close",), lambda c: ind.rolling_std(c, 4, 1), "disp"),
    Spec("BBands", lambda: st.BBands(20, 2.0), ("close",), lambda c: ind.bbands(c, 20, 2.0), "price"),
    Spec("RSI", lambda: st.RSI(14), ("close",), lambda c: ind.rsi(c, 14), "osc"),
    Spec("MACD", lambda: st.MACD(12, 26, 9), ("close",), lambda c: ind.macd(c, 12, 26, 9), "disp"),
    Spec("MACDswap", lambda: st.MACD(9, 4, 3), ("close",), lambda c: ind.macd(c, 9, 4, 3), "disp"),
    Spec("ATR", lambda: st.ATR(14), ("high", "low", "close"), lambda h, lo, c: ind.atr(h, lo, c, 14), "disp"),
    Spec("ADX", lambda: st.ADX(5), ("high", "low", "close"), lambda h, lo, c: ind.adx(h, lo, c, 5), "osc"),
    Spec(
        "ADX_DI",
        lambda: _DI(st.ADX(14)),
        ("high", "low", "close"),
        lambda h, lo, c: (ind.plus_di(h, lo, c, 14), ind.minus_di(h, lo, c, 14)),
        "osc",
    ),
    Spec(
        "Stoch",
        lambda: st.Stoch(14, 3, 3),
        ("high", "low", "close"),
        lambda h, lo, c: ind.stoch(h, lo, c, 14, 3, 3),
        "osc",
    ),
    Spec("CCI", lambda: st.CCI(20), ("high", "low", "close"), lambda h, lo, c: ind.cci(h, lo, c, 20), "osc"),
    Spec("OBV", lambda: st.OBV(), ("close", "volume"), lambda c, v: ind.obv(c, v), "vol"),
    Spec(
        "MFI",
        lambda: st.MFI(14),
        ("high", "low", "close", "volume"),
        lambda h, lo, c, v: ind.mfi(h, lo, c, v, 14),
        "osc",
    ),
    Spec(
        "VWAP",
        lambda: st.VWAP(3_600_000),
        ("ts", "high", "low", "close", "volume"),
        lambda t, h, lo, c, v: ind.vwap(t, h, lo, c, v, 3_600_000),
        "price",
    ),
    Spec(
        "Donchian", lambda: st.Donchian(20), ("high", "low"), lambda h, lo: ind.donchian(h, lo, 20), "price"
    ),
    Spec(
        "Keltner",
        lambda: st.Keltner(20, 2.0, 10),
        ("high", "low", "close"),
        lambda h, lo, c: ind.keltner(h, lo, c, 20, 2.0, 10),
        "price",
    ),
]


class _DI:
    """Adapter: feed an ADX and read its (+DI, -DI)."""

    def __init__(self, adx: st.ADX) -> None:
        self.adx = adx
        self.warmup = adx.di_warmup

    def update(self, h: float, lo: float, c: float) -> tuple[float, float]:
        self.adx.update(h, lo, c)
        return self.value

    @property
    def value(self) -> tuple[float, float]:
        return (self.adx.plus_di, self.adx.minus_di)


def run_both(spec: Spec, cols: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray], Any]:
    """(streaming outputs, vectorised outputs, the streaming object) as lists of equal-length arrays."""
    args = [cols[c] for c in spec.cols]
    vec = spec.vec(*args)
    vec_list = list(vec) if isinstance(vec, tuple) else [vec]
    obj = spec.make()
    rows = [obj.update(*(a[i].item() for a in args)) for i in range(len(args[0]))]
    if isinstance(vec, tuple):
        stream_list = [np.array([r[k] for r in rows], dtype=np.float64) for k in range(len(vec_list))]
    else:
        stream_list = [np.array(rows, dtype=np.float64)]
    return stream_list, vec_list, obj


def floor_for(kind: str, cols: dict[str, np.ndarray]) -> float:
    def med(a: np.ndarray) -> float:
        a = np.abs(a[np.isfinite(a)])
        return float(np.median(a)) if len(a) else 1.0

    px = med(cols["close"])
    return {
        "osc": 1.0,
        "price": max(px, 1e-300),
        "disp": max(px * 1e-4, 1e-300),
        "vol": med(cols["volume"]) + 1.0,
    }[kind]
