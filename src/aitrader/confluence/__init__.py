"""Confluence: strategy votes weighted by regime, confirmed across timeframes and by the order flow.

See `aitrader.confluence.engine` for the rule and docs/strategies.md for the stop/take contract.
"""

from aitrader.confluence.engine import Confluence
from aitrader.confluence.frame import DecisionFrame, Vote
from aitrader.confluence.microstructure import Microstructure, Trades, load_trades_csv
from aitrader.confluence.regime import Regime, RegimeParams

__all__ = [
    "Confluence",
    "DecisionFrame",
    "Microstructure",
    "Regime",
    "RegimeParams",
    "Trades",
    "Vote",
    "load_trades_csv",
]
