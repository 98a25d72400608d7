"""TradeRecorder: folds fills into closed round trips (entry fills ... exit fills -> one trade).

Why separate from the ledger: the ledger answers "what do we own and what is it worth"; reports need
"which trades happened, why did each end, which strategy opened it". Amounts and money stay Decimal
until the round trip closes; the closed trade becomes one row of floats for statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from aitrader.backtest.trades import TradeTable
from aitrader.core.orders import BUY, EXIT, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, Fill, OrderRequest
from aitrader.core.records import reduce_fields

ZERO: Final = Decimal(0)

_REASON: Final = {
    EXIT: "exit_signal",
    STOP_LOSS: "stop_loss",
    TAKE_PROFIT: "take_profit",
    TRAILING_STOP: "trailing_stop",
}


@dataclass(slots=True, init=False)
class _Open:
    symbol: str
    strategy: str
    entry_ms: int
    bought: Decimal = ZERO
    cost: Decimal = ZERO
    sold: Decimal = ZERO
    proceeds: Decimal = ZERO
    fees: Decimal = ZERO
    last_exit_ms: int = 0
    reasons: list[str] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(  # its own (one per trade): see core.orders for why
        self,
        symbol: str,
        strategy: str,
        entry_ms: int,
        bought: Decimal = ZERO,
        cost: Decimal = ZERO,
        sold: Decimal = ZERO,
        proceeds: Decimal = ZERO,
        fees: Decimal = ZERO,
        last_exit_ms: int = 0,
        reasons: list[str] | None = None,
    ) -> None:
        self.symbol = symbol
        self.strategy = strategy
        self.entry_ms = entry_ms
        self.bought = bought
        self.cost = cost
        self.sold = sold
        self.proceeds = proceeds
        self.fees = fees
        self.last_exit_ms = last_exit_ms
        self.reasons = [] if reasons is None else reasons

    @property
    def held(self) -> Decimal:
        return self.bought - self.sold


class TradeRecorder:
    """Long round trips per symbol, from fills in the order they happened."""

    def __init__(self) -> None:
        self._open: dict[str, _Open] = {}
        self._rows: list[dict[str, Any]] = []

    def on_fill(self, fill: Fill, request: OrderRequest) -> Decimal | None:
        """`fill` of the order `request` (fees in quote, the simulated venue's convention); returns the
        round trip's PnL as a fraction of its entry cost when this fill closed it."""
        rt = self._open.get(fill.symbol)
        if fill.side is BUY:
            if rt is None:
                rt = self._open[fill.symbol] = _Open(fill.symbol, request.strategy, fill.ts)
            rt.bought += fill.amount
            rt.cost += fill.amount * fill.price
            rt.fees += fill.fee
            return None
        if rt is None:
            return None  # selling something we did not buy through this engine (not a round trip of ours)
        rt.sold += fill.amount
        rt.proceeds += fill.amount * fill.price
        rt.fees += fill.fee
        rt.last_exit_ms = fill.ts
        rt.reasons.append(
            "risk" if request.purpose is EXIT and request.strategy == "risk"
            else _REASON.get(request.purpose, "exit_signal")
        )
        if rt.held <= ZERO:
            return self._close(rt, rt.last_exit_ms, rt.reasons[-1])
        return None

    def close_open(self, marks: dict[str, tuple[int, Decimal]], fee_rates: dict[str, Decimal]) -> Decimal:
        """Close what is still held at `marks[symbol] = (ts, price)` ("end_of_data"), charging the exit fee
        a taker exit would pay; returns those fees."""
        fees = ZERO
        for symbol in list(self._open):
            if symbol not in marks:
                continue
            rt = self._open[symbol]
            ts, price = marks[symbol]
            qty = rt.held
            fee = qty * price * fee_rates.get(symbol, ZERO)
            rt.sold += qty
            rt.proceeds += qty * price
            rt.fees += fee
            fees += fee
            self._close(rt, ts, "end_of_data")
        return fees

    def open_symbols(self) -> list[str]:
        return list(self._open)

    def _close(self, rt: _Open, exit_ms: int, reason: str) -> Decimal:
        del self._open[rt.symbol]
        pnl = rt.proceeds - rt.cost - rt.fees
        self._rows.append(
            {
                "pair": rt.symbol,
                "strategy": rt.strategy,
                "entry_time": rt.entry_ms,
                "exit_time": exit_ms,
                "entry_price": float(rt.cost / rt.bought),
                "exit_price": float(rt.proceeds / rt.sold),
                "amount": float(rt.bought),
                "fee": float(rt.fees),
                "pnl": float(pnl),
                "exit_reason": reason,
            }
        )
        return pnl / rt.cost if rt.cost else ZERO

    def table(self) -> TradeTable:
        return TradeTable.from_rows(self._rows)
