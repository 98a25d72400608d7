"""A loopback exchange simulator: real candles replayed behind Kraken's REST and WebSocket APIs, and
behind Coinbase Advanced Trade's REST and WebSocket APIs.

Real ccxt / ccxt.pro clients talk to it unchanged (see `aitrader.venues.ccxt_factory`), so paper
trading, downloads and the execution layer are tested against the wire protocol, with faults on demand.
"""

from aitrader.venues.simulator.clock import ReplayClock
from aitrader.venues.simulator.coinbase import CoinbaseSimulator
from aitrader.venues.simulator.engine import MatchingEngine, SimOrder, SimTrade, VenueError
from aitrader.venues.simulator.faults import FaultInjector, FaultSpec
from aitrader.venues.simulator.market_data import Series, load_series
from aitrader.venues.simulator.server import KrakenSimulator, ReplaySimulator

__all__ = [
    "CoinbaseSimulator",
    "FaultInjector",
    "FaultSpec",
    "KrakenSimulator",
    "MatchingEngine",
    "ReplayClock",
    "ReplaySimulator",
    "Series",
    "SimOrder",
    "SimTrade",
    "VenueError",
    "load_series",
]
