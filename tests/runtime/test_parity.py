"""Parity: the same strategies over the same candles make the same decisions and trades in backtest mode
and in paper mode through the exchange simulator (real ccxt.pro client, WebSocket candles, clock
stepped by the test so the run is deterministic)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from runtime_helpers import FIVE_MIN, eventually, series, settings_for

from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.confluence import Confluence
from aitrader.core.candles import OHLCV
from aitrader.data.resample import resample
from aitrader.metrics import REGISTRY
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator, Series

N = 200  # candles per pair served; the last one never closes in the replay


def _ohlcv(s: Series, n: int) -> OHLCV:
    rows = s.rows[:n]
    return OHLCV.from_arrays(
        [r.ts for r in rows],
        [float(r.open) for r in rows],
        [float(r.high) for r in rows],
        [float(r.low) for r in rows],
        [float(r.close) for r in rows],
        [float(r.volume) for r in rows],
    )


async def test_backtest_and_paper_make_the_same_decisions_and_trades(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", N), series("XLM_BTC", N)]
    pairs = [s.symbol for s in feeds]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[0])
    await sim.start()
    db = make_engine(f"sqlite:///{tmp_path / 'paper.db'}")
    # the paper session streams order books the backtest does not have: same candles, same decisions
    # only without the book factor (tests/runtime/test_session_book.py has the session with it)
    url = f"sqlite:///{tmp_path / 'paper.db'}"
    settings = settings_for(sim, pairs, url, confluence={"use_orderbook": False})
    markets = MarketRegistry.load("bittrex")  # the backtest's market rules, for both runs
    session = Session(settings, db, SessionOptions(mode="paper", markets=markets, keep_decisions=True))
    scans = REGISTRY.get_sample_value("aitrader_scan_loop_seconds_count") or 0.0
    task = asyncio.create_task(session.run(install_signals=False))
    try:
        await eventually(lambda: "engine" in session.supervisor.names(), what="session start")
        for k in range(1, N):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: session.candles >= 2 * k, what=f"candle {k}")  # type: ignore[misc]
        session.supervisor.request_stop("test done")
        result = await asyncio.wait_for(task, 30)
    finally:
        if not task.done():
            task.cancel()
        await sim.stop()
    assert result.candles == 2 * (N - 1)
    # every candle's decision latency is in the scan-loop histogram (the /metrics figure)
    evaluated = session.decisions.evaluated
    assert evaluated >= 2 * (N - 1) - 2
    assert REGISTRY.get_sample_value("aitrader_scan_loop_seconds_count") == scans + evaluated
    closed = {s.symbol: _ohlcv(s, N - 1) for s in feeds}

    # decisions: the vectorised confluence over the whole history, bar by bar
    conf = Confluence.from_settings(settings)
    expected = []
    for p, c in closed.items():
        frame = conf.evaluate(p, c, resample(c, "5m", "1h"), "1h", timeframe="5m")
        for i in np.flatnonzero(frame.direction):
            d = frame.decision_at(int(i))
            expected.append((d.ts, p, d.direction, d.confidence, d.stop, d.take))
    got = [
        (d.ts, d.symbol, d.direction, d.confidence, d.stop, d.take) for d in session.decisions.decisions or []
    ]
    assert len(expected) > 20
    # the session streams (Confluence.streamer): the same bars and directions exactly; confidence,
    # stop and take equal evaluate's to float rounding (its contract), far below any price tick
    assert [g[:3] for g in sorted(got)] == [e[:3] for e in sorted(expected)]
    for g, e in zip(sorted(got), sorted(expected), strict=True):
        assert g[3:] == pytest.approx(e[3:], rel=1e-12, abs=0.0), (g, e)

    # trades: the backtest runner (historical feed, skipping) vs the paper session's engine
    bt = run_backtest(
        settings, BacktestSpec(exchange="bittrex", pairs=pairs, timeframe="5m"), tmp_path, candles=closed
    )
    paper = session.engine.result().trades
    assert len(bt.report.trades) >= 3
    assert paper.to_records() == bt.report.trades.to_records()
    assert paper.fingerprint() == bt.report.fingerprint
    print("PARITY", len(got), len(paper), result.fills, result.orders)
