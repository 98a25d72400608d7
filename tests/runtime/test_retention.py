"""A session applies storage retention on its market clock: decisions older than retention_days of the
replay's time go, younger ones (and every order, fill and ledger row) stay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.core.decisions import Decision
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade
from aitrader.storage.repository import MAX_PAGE, tenant_scope
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator

DAY = 86_400_000


def _decision(ts: int) -> Decision:
    return Decision(ts=ts, symbol="ETH/BTC", direction=1, confidence=0.5, price=0.05)


async def test_session_deletes_decisions_older_than_retention_on_its_market_clock(tmp_path: Path) -> None:
    feed = series("ETH_BTC", 400)
    start = feed.ts[300]
    sim = KrakenSimulator([feed], start_ms=start)
    await sim.start()
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = make_engine(url)
    upgrade(db)
    with tenant_scope(db, "t1", create_tenant=True) as ts:  # rows a previous run left
        for when in (start - 3 * DAY, start - 2 * DAY, start - DAY // 2):
            ts.add_decision(_decision(when))
    settings = settings_for(sim, [feed.symbol], url, storage={"retention_days": 1})
    session = Session(settings, db, SessionOptions(mode="paper", markets=MarketRegistry.load("bittrex")))
    async with running(session, sim):
        await eventually(lambda: "retention" in session.supervisor.names(), timeout=60, what="start")
        await asyncio.sleep(0.2)
        assert session.retained == {}  # no candle yet: nothing measured, nothing deleted
        sim.advance(FIVE_MIN)
        await eventually(lambda: session.candles >= 1, what="a candle")
        await eventually(lambda: session.retained.get("decisions", 0) > 0, what="retention")
    assert session.retained["decisions"] == 2
    with tenant_scope(db, "t1") as ts:
        kept = [d.ts for d in ts.list_decisions(limit=MAX_PAGE)]
    assert start - DAY // 2 in kept and start - 2 * DAY not in kept and start - 3 * DAY not in kept
