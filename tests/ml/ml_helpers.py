"""Constants and the shared fixture record of the ML tests (importable from test modules)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aitrader.core.candles import OHLCV
from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.ml.train import TrainResult, TrainSpec

TF_MS = 300_000
PAIRS = ["ETH/BTC", "ETC/BTC"]
SMALL = TrainSpec(n_folds=2, max_iter=30)


@dataclass
class Env:
    datadir: Path
    candles: dict[str, OHLCV]
    result: TrainResult


class AlwaysLong:
    """Inner decision source: proposes a long entry on every candle."""

    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        c = event.candle
        return Decision(ts=c.ts, symbol=symbol, direction=1, confidence=1.0, price=c.close)
