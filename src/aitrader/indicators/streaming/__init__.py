"""O(1)-per-update streaming indicators for the live path, mirroring `aitrader.indicators`.

Backtests use the vectorised functions; live trading feeds one closed candle at a time into these
classes. Tests prove both agree bar by bar (1e-9 relative) on real candles and on Hypothesis-made
series. Conventions shared by every class are in `_base`.
"""

from aitrader.indicators.streaming.moving import EMA, SMA, WMA, BBands, RollingStd
from aitrader.indicators.streaming.oscillators import CCI, MACD, MFI, RSI, Stoch
from aitrader.indicators.streaming.ranges import ADX, ATR, Donchian, Keltner
from aitrader.indicators.streaming.volume import OBV, VWAP

__all__ = [
    "ADX",
    "ATR",
    "CCI",
    "EMA",
    "MACD",
    "MFI",
    "OBV",
    "RSI",
    "SMA",
    "VWAP",
    "WMA",
    "BBands",
    "Donchian",
    "Keltner",
    "RollingStd",
    "Stoch",
]
