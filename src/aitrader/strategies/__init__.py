"""Strategies: pure, vectorised functions of closed candles to per-bar signal events.

See `aitrader.strategies.base` for the contract and docs/strategies.md for a guide.
"""

from aitrader.strategies.base import Signals, Strategy
from aitrader.strategies.params import Param
from aitrader.strategies.timeframes import align_closed

__all__ = ["Param", "Signals", "Strategy", "align_closed"]
