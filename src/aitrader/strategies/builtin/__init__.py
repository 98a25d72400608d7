"""Built-in strategies, one module each; `MODULES` is the list the registry loads."""

from __future__ import annotations

MODULES = (
    "ema_cross",
    "trend_adx",
    "mean_reversion",
    "macd_momentum",
    "donchian_breakout",
    "vwap_reversion",
    "squeeze",
)
