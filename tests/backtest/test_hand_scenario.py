"""Hand-computed trades: the vectorised reference and the event Engine (SimulatedVenue, Decimal ledger)
must both produce exactly these fills and PnLs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.reference import pair_signals, reference_trades
from aitrader.backtest.sizing import FixedStake
from aitrader.core.candles import OHLCV
from aitrader.core.clock import SimulatedClock
from aitrader.engine.decisions import PrecomputedDecisions, SignalFrame
from aitrader.engine.engine import Engine
from aitrader.engine.feed import HistoricalFeed
from aitrader.strategies.base import Signals
from aitrader.strategies.registry import create
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule
from aitrader.venues.simulated import SimulatedVenue

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 300_000
STEP = 300_000
# open[t+1] == close[t], so sizing at the decision close equals sizing at the next open
OPEN = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]
CLOSE = [11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.7]
LOW = [9.5, 10.5, 11.5, 12.5, 13.5, 14.5, 15.5, 16.5]
HIGH = [11.5, 12.5, 13.5, 14.5, 15.5, 16.5, 17.5, 19.0]
# -1 while flat and +1 while long are ignored
DIRECTION = np.array([-1, 1, 0, 1, -1, 0, 1, 0], dtype=np.int8)


def _candles(volume: float = float("nan")) -> OHLCV:
    n = len(OPEN)
    return OHLCV.from_arrays(T0 + STEP * np.arange(n), OPEN, HIGH, LOW, CLOSE, np.full(n, volume))


def test_pair_signals_rules() -> None:
    entries, exits = pair_signals(DIRECTION)
    assert entries.tolist() == [1, 6] and exits.tolist() == [4, -1]
    # an entry signal on the last bar has no candle to fill on
    e, x = pair_signals(np.array([0, 1, -1, 0, 1], dtype=np.int8))
    assert e.tolist() == [1] and x.tolist() == [2]


def test_reference_by_hand() -> None:
    t = reference_trades(_candles(), DIRECTION, 1000.0, 0.001, "X/USD", "hand")
    # trade 1: buy 1000/12 at open[2]=12, sell at open[5]=15: +250 gross, fees 1.00 + 1.25
    # trade 2: buy 1000/17 at open[7]=17, still open: closed at the last close 18.7 (+100), fees 1.0 + 1.1
    assert t.entry_time.tolist() == [T0 + 2 * STEP, T0 + 7 * STEP]
    assert t.exit_time.tolist() == [T0 + 5 * STEP, T0 + 7 * STEP]
    assert t.entry_price.tolist() == [12.0, 17.0]
    assert t.exit_price.tolist() == [15.0, 18.7]
    assert t.fee == pytest.approx([2.25, 2.1], rel=1e-12)
    assert t.pnl == pytest.approx([247.75, 97.9], rel=1e-12)
    assert t.exit_reason.tolist() == ["exit_signal", "end_of_data"]


def _engine(candles: OHLCV, signals: Signals, protect: bool) -> Engine:
    clock = SimulatedClock(T0)
    strategy = create("ema_cross")  # only names the votes; the signals are the hand-made ones
    src = PrecomputedDecisions(
        {"X/USD": SignalFrame("X/USD", candles, strategy, signals)}, {"X/USD": candles.ts}
    )
    feed = HistoricalFeed({"X/USD": candles}, "5m", clock, src.directions())
    markets = MarketRegistry.empty("test")
    balances = {"USD": Decimal(100_000)}
    fees = FeeSchedule(Decimal("0.001"), Decimal("0.001"))
    venue = SimulatedVenue(clock, markets, balances, fees=fees)
    return Engine(
        clock=clock,
        feed=feed,
        venue=venue,
        decisions=src,
        risk=FixedStake(Decimal(1000)),
        markets=markets,
        ledger=Ledger(balances, ts=T0),
        quote="USD",
        protect=protect,
        end_fee_rate=Decimal("0.001"),
    )


def test_engine_by_hand() -> None:
    candles = _candles()
    n = len(candles)
    sig = Signals(DIRECTION, np.ones(n), np.full(n, np.nan), np.full(n, np.nan))
    res = _engine(candles, sig, protect=False).run()
    t = res.trades
    assert t.entry_price.tolist() == [12.0, 17.0]
    assert t.exit_price.tolist() == [15.0, 18.7]
    assert t.amount == pytest.approx([1000 / 12, 1000 / 17], abs=1e-8)  # amount step 1e-8
    assert t.pnl == pytest.approx([247.75, 97.9], abs=1e-5)
    assert t.exit_reason.tolist() == ["exit_signal", "end_of_data"]
    # equity: 100000 + both trades (the second valued at the last close less its exit fee)
    assert float(res.final_equity) == pytest.approx(100_000 + 247.75 + 97.9, abs=1e-5)


def test_engine_stop_loss_by_hand() -> None:
    # entry signal at bar 1 with a stop hint 12.6: fills at open[2]=12; bar 2's low 11.5 is before the
    # stop exists (placed after the fill), bar 3 (low 12.5) touches it: sold at 12.6
    candles = _candles()
    n = len(candles)
    direction = np.array([0, 1, 0, 0, 0, 0, 0, 0], dtype=np.int8)
    stop = np.full(n, np.nan)
    stop[1] = 12.6
    sig = Signals(direction, np.ones(n), stop, np.full(n, np.nan))
    t = _engine(candles, sig, protect=True).run().trades
    assert len(t) == 1
    assert t.exit_reason[0] == "stop_loss"
    assert t.exit_time[0] == T0 + 3 * STEP
    assert t.exit_price[0] == 12.6
    amount = 1000 / 12
    assert t.pnl[0] == pytest.approx(amount * 0.6 - 0.001 * (1000 + amount * 12.6), abs=1e-5)
