"""Trade records: the one output every backtest mode produces, columnar for statistics and JSON.

Why columnar float arrays and not a list of objects: reports, fingerprints and the vectorbt cross-check
work on whole columns, and the reference mode creates tens of thousands of trades per second. The
event-driven engine keeps money in `Decimal` while it trades and converts each closed trade here once;
everything downstream of a closed trade is statistics.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from aitrader.core.candles import FloatArray, IntArray

ObjArray = npt.NDArray[np.object_]

EXIT_REASONS = ("exit_signal", "stop_loss", "take_profit", "trailing_stop", "end_of_data", "risk")


@dataclass(frozen=True, slots=True)
class TradeTable:
    """Closed round trips (long only), aligned columns; `fee` is both sides together."""

    pair: ObjArray
    strategy: ObjArray
    entry_time: IntArray
    exit_time: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    amount: FloatArray
    fee: FloatArray
    pnl: FloatArray
    exit_reason: ObjArray

    def __len__(self) -> int:
        return len(self.entry_time)

    @classmethod
    def empty(cls) -> TradeTable:
        o = np.empty(0, dtype=object)
        i = np.empty(0, dtype=np.int64)
        f = np.empty(0, dtype=np.float64)
        return cls(o, o.copy(), i, i.copy(), f, f.copy(), f.copy(), f.copy(), f.copy(), o.copy())

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> TradeTable:
        if not rows:
            return cls.empty()

        def col(name: str, dtype: Any) -> Any:
            return np.array([r[name] for r in rows], dtype=dtype)

        return cls(
            col("pair", object),
            col("strategy", object),
            col("entry_time", np.int64),
            col("exit_time", np.int64),
            col("entry_price", np.float64),
            col("exit_price", np.float64),
            col("amount", np.float64),
            col("fee", np.float64),
            col("pnl", np.float64),
            col("exit_reason", object),
        ).sorted()

    @staticmethod
    def concat(tables: list[TradeTable]) -> TradeTable:
        tables = [t for t in tables if len(t)]
        if not tables:
            return TradeTable.empty()
        return TradeTable(
            *(np.concatenate([getattr(t, f) for t in tables]) for f in TradeTable.__slots__)
        ).sorted()

    def sorted(self) -> TradeTable:
        """Deterministic order: by exit time, then entry time, then pair."""
        order = np.lexsort((self.pair.astype(str), self.entry_time, self.exit_time))
        return TradeTable(*(getattr(self, f)[order] for f in TradeTable.__slots__))

    def select(self, mask: npt.NDArray[np.bool_]) -> TradeTable:
        return TradeTable(*(getattr(self, f)[mask] for f in TradeTable.__slots__))

    @property
    def notional(self) -> FloatArray:
        return self.amount * self.entry_price

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready rows (times epoch ms, prices/amounts/fees/pnl as floats)."""
        return [
            {
                "pair": str(self.pair[i]),
                "strategy": str(self.strategy[i]),
                "entry_time": int(self.entry_time[i]),
                "exit_time": int(self.exit_time[i]),
                "entry_price": float(self.entry_price[i]),
                "exit_price": float(self.exit_price[i]),
                "amount": float(self.amount[i]),
                "fee": float(self.fee[i]),
                "pnl": float(self.pnl[i]),
                "exit_reason": str(self.exit_reason[i]),
            }
            for i in range(len(self))
        ]

    def fingerprint(self) -> str:
        """sha256 over every trade; floats with 12 significant digits so the hash survives harmless
        last-bit differences between platforms but changes with any real change of results."""
        h = hashlib.sha256()
        for i in range(len(self)):
            h.update(
                (
                    f"{self.pair[i]}|{self.strategy[i]}|{self.entry_time[i]}|{self.exit_time[i]}|"
                    f"{self.entry_price[i]:.12g}|{self.exit_price[i]:.12g}|{self.amount[i]:.12g}|"
                    f"{self.fee[i]:.12g}|{self.pnl[i]:.12g}|{self.exit_reason[i]}\n"
                ).encode()
            )
        return h.hexdigest()
