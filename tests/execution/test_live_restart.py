"""Restarts: the nonce never goes back, and a trailing stop continues from its ratcheted level."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import pytest
from live_rig import FAST, FIVE_MIN, SimTime, client_factory, pump, request, running_sim, sim_orders
from sqlalchemy import Engine

from aitrader.core.candles import Candle
from aitrader.core.orders import OrderPurpose, OrderStatus, OrderType, Side
from aitrader.core.time import now_ms
from aitrader.execution.journal import OrderJournal
from aitrader.execution.nonce import PersistentNonce, install_nonce
from aitrader.execution.order_manager import OrderManager
from aitrader.execution.trailing import KvStateStore, TriggerBook
from aitrader.storage.db import make_engine
from aitrader.storage.migrate import upgrade
from aitrader.storage.repository import tenant_scope
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import KrakenSimulator

D = Decimal
SYM = "ETH/BTC"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    upgrade(eng)
    with tenant_scope(eng, "t1", create_tenant=True):
        pass
    yield eng
    eng.dispose()


def _venue(sim: KrakenSimulator, key: str, secret: str, nonce: Callable[[], int], **kw: Any) -> CcxtVenue:
    plain = client_factory(sim, key, secret)

    def make() -> Any:
        ex = plain()
        install_nonce(ex, nonce)
        return ex

    return CcxtVenue(make, clock=SimTime(sim), policy=FAST, poll_interval_ms=300, **kw).start()


def test_restart_never_reuses_a_nonce(db: Engine) -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        # first run: its clock was a minute ahead (later corrected by NTP), so its nonces ran ahead
        ahead = PersistentNonce(db, "t1", "kraken", acc.api_key, clock_ms=lambda: now_ms() + 60_000)
        first = _venue(sim, acc.api_key, acc.secret, ahead)
        first.refresh_balances()
        first.close()
        # a client that trusts its own clock after the restart is locked out ...
        naive = make_exchange("kraken", sim.base_url, None, acc.api_key, acc.secret, options={"rateLimit": 5})
        with pytest.raises(ccxt.InvalidNonce):
            naive.fetch_balance()
        # ... ours continues above the last persisted nonce, even with the clock now correct
        second = _venue(sim, acc.api_key, acc.secret, PersistentNonce(db, "t1", "kraken", acc.api_key))
        try:
            om = OrderManager(second, SimTime(sim))
            order = om.submit(request("at-n", Side.BUY, "0.1"))
            pump(om, second, lambda: order.status is OrderStatus.OPEN)
            assert second.stats.retries == 0 and not second.errors
        finally:
            second.close()


def test_trailing_stop_state_is_persisted_and_restored(db: Engine) -> None:
    with running_sim() as sim:
        acc = sim.add_account({"BTC": "1"})
        nonce = PersistentNonce(db, "t1", "kraken", acc.api_key)
        store = KvStateStore(db, "t1")
        journal = OrderJournal(db, "t1")
        venue = _venue(sim, acc.api_key, acc.secret, nonce, triggers=TriggerBook(store))
        om = OrderManager(venue, SimTime(sim))
        try:
            entry = om.submit(request("at-e", Side.BUY, "0.5"))
            pump(om, venue, lambda: entry.status is OrderStatus.OPEN)
            sim.advance(FIVE_MIN)
            pump(om, venue, lambda: entry.status is OrderStatus.FILLED)
            trail = request(
                "at-t",
                Side.SELL,
                "0.5",
                OrderType.STOP_MARKET,
                purpose=OrderPurpose.TRAILING_STOP,
                trail="0.1",
            )
            om.protect(SYM, None, trail)
            pump(om, venue, lambda: om.order("at-t").status is OrderStatus.OPEN)
            t = sim.clock.now()
            venue.on_candle(SYM, Candle(t, 0.09, 0.09, 0.089, 0.09, 1.0))  # starts at 0.09 * 0.9
            assert store.load_all()["at-t"]["level"] == str(D("0.09") * D("0.9"))
            venue.on_candle(SYM, Candle(t, 0.09, 0.12, 0.09, 0.11, 1.0))  # ratchets to 0.12 * 0.9
            assert store.load_all()["at-t"]["level"] == str(D("0.12") * D("0.9"))
            journal.record(om, orders=om.orders())
        finally:
            venue.close()
        # restart: new process, new client, new book, state from storage only
        book = TriggerBook(KvStateStore(db, "t1"))
        (restored,) = book.armed()
        assert restored.client_id == "at-t" and restored.level == D("0.108") and restored.trail == D("0.1")
        venue2 = _venue(sim, acc.api_key, acc.secret, nonce, triggers=book)
        try:
            om2 = OrderManager(venue2, SimTime(sim))
            stored = journal.load()
            om2.restore(stored)
            venue2.restore(om2.open_orders())
            pos = om2.position(SYM)
            assert pos is not None and pos.amount == D("0.5") and pos.stop_client_id == "at-t"
            t = sim.clock.now()
            venue2.on_candle(SYM, Candle(t, 0.11, 0.11, 0.1085, 0.109, 1.0))  # above 0.108: holds
            assert book.armed() and venue2.triggers.get("at-t") is not None
            venue2.on_candle(SYM, Candle(t, 0.109, 0.109, 0.1079, 0.108, 1.0))  # crosses the restored level
            pump(om2, venue2, lambda: venue2.idle() and len(sim_orders(sim, acc.api_key)) == 2)
            sim.advance(FIVE_MIN)
            pump(om2, venue2, lambda: om2.order("at-t").status is OrderStatus.FILLED)
            assert om2.position(SYM) is None
            assert KvStateStore(db, "t1").load_all()["at-t"]["fired_ms"] == t
        finally:
            venue2.close()
