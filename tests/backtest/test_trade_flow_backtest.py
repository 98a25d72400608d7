"""`aitrader backtest --trades PAIR=FILE`: a pair's public trades feed the confluence's trade-flow
factor in the full stack. On Kraken's real BCH/EUR trades (candles aggregated from the same trades,
so every bar has flow) the report says how many bars had flow; bad uses are clear errors."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import StrategyRef, load_settings
from aitrader.confluence import load_trades_csv
from aitrader.core.candles import OHLCV
from aitrader.core.errors import DataError

TRADES = Path(__file__).resolve().parents[2] / "src" / "aitrader" / "sample_data" / "trades"
KRAKEN = TRADES / "kraken_BCH_EUR-trades.csv"
STEP = 900_000  # 15m


def _candles_from(path: Path) -> OHLCV:
    t = load_trades_csv(path)
    bucket = t.ts // STEP
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(t)] - 1
    return OHLCV.from_arrays(
        bucket[starts] * STEP,
        t.price[starts],
        np.maximum.reduceat(t.price, starts),
        np.minimum.reduceat(t.price, starts),
        t.price[ends],
        np.add.reduceat(t.amount, starts),
    )


def _settings():  # type: ignore[no-untyped-def]
    return load_settings(
        None,
        exchange={"name": "kraken"},
        backtest={"starting_balance": "1000"},
        confluence={"higher_timeframe": None, "min_confidence": 0.0},
    )


def test_trade_flow_reaches_the_confluence_of_its_pair(tmp_path: Path) -> None:
    c = _candles_from(KRAKEN)
    refs = [StrategyRef(name="ema_cross", params={"fast": 3, "slow": 8})]
    spec = BacktestSpec("kraken", ["BCH/EUR"], "15m", strategies=refs, trades={"BCH/EUR": KRAKEN})
    result = run_backtest(_settings(), spec, tmp_path, candles={"BCH/EUR": c})
    assert result.report.settings["trade_flow_bars"] == {"BCH/EUR": len(c)}  # every bar came from trades
    assert result.report.settings["trades"] == "BCH/EUR=kraken_BCH_EUR-trades.csv"
    without = BacktestSpec("kraken", ["BCH/EUR"], "15m", strategies=refs)
    plain = run_backtest(_settings(), without, tmp_path, candles={"BCH/EUR": c})
    assert "trade_flow_bars" not in plain.report.settings


def test_bad_trades_options_are_clear_errors(tmp_path: Path) -> None:
    c = {"BCH/EUR": _candles_from(KRAKEN)}
    other = BacktestSpec("kraken", ["BCH/EUR"], "15m", trades={"ETH/EUR": KRAKEN})
    with pytest.raises(DataError, match="ETH/EUR, which is not among the pairs"):
        run_backtest(_settings(), other, tmp_path, candles=c)
    flow = {"BCH/EUR": KRAKEN}
    ref = BacktestSpec("kraken", ["BCH/EUR"], "15m", stake=Decimal(100), no_stops=True, trades=flow)
    with pytest.raises(DataError, match="trade flow feeds the confluence"):
        run_backtest(_settings(), ref, tmp_path, candles=c)
    for arg, says in (("BCH/EUR", "--trades expects PAIR=FILE"), ("BCH/EUR=/nope.csv", "no such file")):
        p = subprocess.run(
            [sys.executable, "-m", "aitrader.cli.main", "backtest", "--datadir", str(tmp_path),
             "--trades", arg],
            capture_output=True, text=True,
        )
        assert p.returncode == 2 and p.stderr.startswith("error:") and says in p.stderr, p.stderr
