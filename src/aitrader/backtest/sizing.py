"""Fixed-stake sizing: the `EntryGate` of reference-style runs (`--stake-amount`) through the engine.

Why: the reference mode buys `stake / price` per entry with no risk limits. Running that through the
event engine (instead of the vectorised reference) needs something in risk's place that sizes every
entry the same way and refuses nothing. An event engine cannot know the next open when it decides, so
the amount is `stake / close of the decision bar` (on data where open == previous close the two agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from aitrader.core.decisions import Decision
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import OrderRequest
from aitrader.core.prices import dec
from aitrader.risk.orders import GateOrders
from aitrader.venues.markets import MarketRules


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
    code: str = "stake_too_small"  # the key rejections are counted under (like risk's Rejection.code)


class FixedStake(GateOrders):
    """Every entry spends `stake` quote at the decision bar's close; never refuses unless the amount
    rounds to nothing. Entry and protective orders (stop rounded up, like risk's) come from `GateOrders`."""

    def __init__(self, stake: Decimal, id_prefix: str = "fs") -> None:
        self.stake = stake
        self.ids = ClientIdGenerator(id_prefix)
        self.trades = 0

    def size_entry(
        self,
        decision: Decision,
        equity: Decimal,
        open_positions: Mapping[str, Decimal],
        rules: MarketRules,
        now_ms: int,
    ) -> OrderRequest | Refused:
        amount = rules.round_amount(self.stake / dec(decision.price))
        if amount <= 0:
            return Refused(f"stake {self.stake} buys nothing at {decision.price}")
        return self.entry_order(decision.symbol, amount, now_ms)

    def on_equity(self, ts: int, equity: Decimal) -> None:
        pass  # no limits to watch

    def record_trade(self, pnl_fraction: Decimal) -> None:
        self.trades += 1

    @property
    def killed(self) -> bool:
        return False
