"""The event Engine against the vectorised reference, and the sparse feed against a feed that delivers
every candle (as a live feed does): same trades, on real data."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.data import common_quote
from aitrader.backtest.demo import demo_settings, import_sample_data
from aitrader.backtest.reference import reference_trades
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.backtest.sizing import FixedStake
from aitrader.core.candles import OHLCV
from aitrader.core.clock import SimulatedClock
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.engine import feed as feed_module
from aitrader.engine.decisions import PrecomputedDecisions, SignalFrame
from aitrader.engine.engine import Engine
from aitrader.engine.feed import HistoricalFeed
from aitrader.strategies.registry import create
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule
from aitrader.venues.simulated import SimulatedVenue
from shared_data import SHARED

DATA = SHARED / "data/ohlcv"
FILES = {"ETH/BTC": "bittrex_ETH_BTC-5m.csv", "ADA/BTC": "bittrex_ADA_BTC-5m.csv"}  # ADA has gaps


def _load(name: str) -> OHLCV:
    c = read_ohlcv_csv(DATA / name)
    # NaN volume = no volume cap: the reference mode has none
    return OHLCV(c.ts, c.open, c.high, c.low, c.close, np.full(len(c), np.nan))


def test_engine_equals_reference_on_real_data() -> None:
    candles = {p: _load(f) for p, f in FILES.items()}
    strategy = create("ema_cross")
    signals = {p: strategy.compute(c) for p, c in candles.items()}
    clock = SimulatedClock(0)
    src = PrecomputedDecisions(
        {p: SignalFrame(p, c, strategy, signals[p]) for p, c in candles.items()},
        {p: c.ts for p, c in candles.items()},
    )
    feed = HistoricalFeed(candles, "5m", clock, src.directions())
    markets = MarketRegistry.empty("test")
    balances = {common_quote(list(candles)): Decimal(10**9)}
    venue = SimulatedVenue(clock, markets, balances, fees=FeeSchedule(Decimal("0.001"), Decimal("0.001")))
    res = Engine(
        clock=clock, feed=feed, venue=venue, decisions=src, risk=FixedStake(Decimal(1000)), markets=markets,
        ledger=Ledger(balances), quote="BTC", protect=False, end_fee_rate=Decimal("0.001"),
    ).run()
    total = sum(len(c) for c in candles.values())
    assert feed.visited < total / 5  # the loop ran per event, not per candle
    for pair, c in candles.items():
        ref = reference_trades(c, signals[pair].direction, 1000.0, 0.001, pair, "ema_cross")
        got = res.trades.select(res.trades.pair == pair)
        assert len(got) == len(ref) > 50
        assert np.array_equal(got.entry_time, ref.entry_time)
        assert np.array_equal(got.exit_time, ref.exit_time)
        assert np.array_equal(got.entry_price, ref.entry_price)
        assert np.array_equal(got.exit_price, ref.exit_price)
        assert got.exit_reason.tolist() == ref.exit_reason.tolist()
        # amounts differ only where open[t+1] != close[t] (the engine sizes at the decision close)
        np.testing.assert_allclose(got.pnl / got.amount, ref.pnl / ref.amount, rtol=1e-9, atol=1e-12)


@pytest.mark.interpreted
def test_skipping_feed_changes_nothing_full_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Full stack (confluence, risk, stops/takes, volume caps, slippage) on the bundled data: the
    interest-driven skipping feed and an every-candle feed give the same trades."""
    pairs = import_sample_data(tmp_path)[:3]
    spec = BacktestSpec(exchange="bittrex", pairs=pairs, timeframe="5m")
    sparse = run_backtest(demo_settings(), spec, tmp_path)
    original = feed_module.HistoricalFeed.__init__

    def every_candle(self: HistoricalFeed, *args: object, **kwargs: object) -> None:
        kwargs["skip"] = False
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_module.HistoricalFeed, "__init__", every_candle)
    dense = run_backtest(demo_settings(), spec, tmp_path)
    assert sparse.stats is not None and dense.stats is not None
    assert dense.stats.events == sum(len(c) for c in dense.report.candles.values())
    assert sparse.stats.events < dense.stats.events / 3
    assert len(sparse.report.trades) > 5
    assert sparse.report.fingerprint == dense.report.fingerprint
    assert set(sparse.report.trades.exit_reason) >= {"stop_loss"}
