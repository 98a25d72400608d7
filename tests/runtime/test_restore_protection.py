"""Stop/take levels of entries not yet filled survive a restart. A paper session with resting limit
entries (tiny volume share: they fill partly and keep resting) persists each entry's planned levels
with the step that wrote the entry; a session restarted from a copy of that database (the state a
SIGKILL leaves) cancels the interrupted entry and protects what it bought at exactly those levels."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

from runtime_helpers import FIVE_MIN, eventually, running, series, settings_for

from aitrader.core.orders import Order, OrderPurpose, OrderStatus
from aitrader.runtime.persist import PROTECTION_KEY, RUNTIME_NS
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.storage.repository import tenant_scope
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.simulator import KrakenSimulator


def _partial_entry(session: Session) -> Order | None:
    for o in session.engine.om.open_orders():
        if o.request.purpose is OrderPurpose.ENTRY and o.status is OrderStatus.PARTIALLY_FILLED:
            return o
    return None


def _stored_levels(db_url: str) -> dict[str, list[float | None]]:
    with tenant_scope(make_engine(db_url), "t1") as ts:
        got = ts.load_namespace(RUNTIME_NS).get(PROTECTION_KEY)
    return got if isinstance(got, dict) else {}


async def test_partly_filled_entry_is_protected_at_its_planned_levels_after_restart(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 900)]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[300])
    await sim.start()
    url = f"sqlite:///{tmp_path / 'a.db'}"
    settings = settings_for(
        sim, [feeds[0].symbol], url,
        execution={"entry_order": "limit", "limit_entry_timeout_ms": 100 * FIVE_MIN},
        backtest={"max_volume_share": "0.0005"},
    )
    markets = MarketRegistry.load("bittrex")
    first = Session(settings, make_engine(url), SessionOptions(mode="paper", markets=markets))
    async with running(first, sim):
        await eventually(lambda: "engine" in first.supervisor.names(), timeout=60, what="start")
        for k in range(1, 550):
            sim.advance(FIVE_MIN)
            await eventually(lambda k=k: first.candles >= k, what=f"candle {k}")  # type: ignore[misc]
            entry = _partial_entry(first)
            if entry is not None:
                break
        assert entry is not None, "no entry filled partly"
        cid = entry.request.client_id
        levels = first.engine.pending_protection()[cid]
        await eventually(lambda: cid in _stored_levels(url), what="levels persisted")
        crash = tmp_path / "crash.db"
        with sqlite3.connect(tmp_path / "a.db") as src, sqlite3.connect(crash) as dst:
            src.backup(dst)  # what a SIGKILL would leave: the committed steps
        held = entry.filled

    sim2 = KrakenSimulator(feeds, start_ms=feeds[0].ts[300])
    await sim2.start()
    try:
        url2 = f"sqlite:///{crash}"
        settings.storage.url = url2
        second = Session(settings, make_engine(url2), SessionOptions(mode="paper", markets=markets))
        await second.assemble()
        om = second.engine.om
        assert om.order(cid).status is OrderStatus.CANCELLED  # the interrupted entry is not re-sent
        pos = om.position(entry.request.symbol)
        assert pos is not None and pos.amount >= held
        guards = {o.request.purpose: o for o in om.open_orders(entry.request.symbol)}
        stop, take = levels
        assert stop is not None and take is not None
        rules = second.engine.rules(entry.request.symbol)
        stop_req, take_req = guards[OrderPurpose.STOP_LOSS].request, guards[OrderPurpose.TAKE_PROFIT].request
        assert stop_req.stop_price == rules.round_price(Decimal(str(stop)), "up")
        assert take_req.price == rules.round_price(Decimal(str(take)))
        assert stop_req.amount == take_req.amount == rules.round_amount(pos.amount)
    finally:
        await sim2.stop()
