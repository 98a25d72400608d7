"""What a running engine publishes in storage's `kv_state` for the control plane to read.

The API and Telegram read engine state only through storage. Orders, fills, positions, decisions
and equity have tables of their own; the rest (is the engine alive, paused, what are the marks and
venue balances) is a handful of JSON values under namespace `ENGINE_NS`, keys below. The engine
writes them (a heartbeat at least every `heartbeat_interval_ms`); `api.store_control` reads them.
Money values inside are decimal strings, times epoch ms.
"""

from __future__ import annotations

from typing import TypedDict

ENGINE_NS = "engine"

STATUS_KEY = "status"
BALANCES_KEY = "balances"
MARKS_KEY = "marks"
STRATEGIES_KEY = "strategies"
RISK_LIMITS_KEY = "risk_limits"


class EngineStatusState(TypedDict, total=False):
    """`engine/status`."""

    mode: str  # backtest | paper | live
    entries_paused: bool
    kill_switch: bool
    quote_currency: str
    started_ms: int
    heartbeat_ms: int
    heartbeat_interval_ms: int


class BalanceState(TypedDict):
    """One currency of `engine/balances` ({currency: BalanceState}), as the venue reports it."""

    total: str
    free: str
    used: str


class StrategyState(TypedDict, total=False):
    """One strategy of `engine/strategies` ({strategy name: StrategyState})."""

    signals: int
    trades: int
    wins: int
    pnl: str
    avg_runtime_ms: float
    timeouts: int


# `engine/marks`: {symbol: last price as a decimal string}
# `engine/risk_limits`: the limits in force when changed at run time ({name: decimal string | int});
#   absent means the configuration's `risk` section applies.

CANDLES_KEY_PREFIX = "candles:"  # `engine/candles:<symbol>`: that pair's recent closed candles


def candles_key(symbol: str) -> str:
    """Per pair, so the chart reads one small value and a close rewrites only its own pair."""
    return CANDLES_KEY_PREFIX + symbol


class CandlesState(TypedDict):
    """`engine/candles:<symbol>`: the running session's newest closed candles of one pair.

    Why published by the session and not read from the history store: in paper mode against a
    replay the store under the exchange's name is empty or holds candles after the replay's "now".
    Only candles closed by `clock_ms` (the session's market clock when written) are in `rows`.
    """

    timeframe: str
    clock_ms: int
    rows: list[list[float]]  # [open time ms, open, high, low, close, volume], oldest first
