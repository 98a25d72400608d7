"""A limit entry's replace count survives a restart. With `limit_entry_max_replaces: 1`, a live session
replaces a timed-out entry once; the replacement is still working on the exchange when the session
stops. The next session takes the order back from storage and the exchange, knows it was already
replaced once, and lets it go at its timeout instead of granting it a fresh replacement."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runtime_helpers import FIVE_MIN, eventually, resting_limit_entries, running

from aitrader.core.orders import OrderPurpose, OrderStatus
from aitrader.runtime.persist import REPLACES_KEY, RUNTIME_NS
from aitrader.runtime.session import Session
from aitrader.storage.db import make_engine
from aitrader.storage.repository import tenant_scope
from aitrader.venues.simulator import KrakenSimulator


class _KeepRunning:
    """`running` stops what it is given on the way out; the exchange outlives the first session."""

    async def stop(self) -> None:
        return None


def _stored(url: str) -> dict[str, int]:
    with tenant_scope(make_engine(url), "t1") as ts:
        got = ts.load_namespace(RUNTIME_NS).get(REPLACES_KEY)
    return got if isinstance(got, dict) else {}


async def _advance(session: Session, sim: KrakenSimulator) -> None:
    seen = session.candles
    sim.advance(FIVE_MIN)
    await eventually(lambda: session.candles > seen, what="the candle taken in")
    await asyncio.sleep(0.2)  # pump ticks: cancels confirmed between candles are resolved


async def test_replaced_entry_is_not_replaced_again_after_restart(tmp_path: Path) -> None:
    rig = await resting_limit_entries(tmp_path, timeout_ms=2 * FIVE_MIN, max_replaces=1)
    sim, url, settings, opts = rig.sim, rig.url, rig.settings, rig.opts
    first = Session(settings, make_engine(url), opts)
    cid = None
    try:
        async with running(first, _KeepRunning()):
            await eventually(lambda: "engine" in first.supervisor.names(), timeout=60, what="start")
            for _ in range(500):
                await _advance(first, sim)
                rep = first.engine.replacer
                assert rep is not None
                working = {o.request.client_id for o in first.engine.om.open_orders()}
                once = [c for c, n in rep.replacements().items() if n == 1 and c in working]
                if once:
                    cid = once[0]
                    break
            assert cid is not None, "no entry was replaced"
            replacement = first.engine.om.order(cid)
            await eventually(lambda: replacement.status is OrderStatus.OPEN, what="acknowledged")
            await eventually(lambda: _stored(url).get(cid) == 1, what="the count persisted")
        assert replacement.status is OrderStatus.OPEN  # still working on the exchange

        second = Session(settings, make_engine(url), opts)
        async with running(second, sim):
            await eventually(lambda: "engine" in second.supervisor.names(), timeout=60, what="restart")
            rep = second.engine.replacer
            assert rep is not None and rep.replacements().get(cid) == 1
            order = second.engine.om.order(cid)
            for _ in range(6):  # past its timeout: cancelled on the exchange, and not replaced
                await _advance(second, sim)
                if order.status.is_terminal and not rep.cancelling(cid):
                    break
            assert order.status is OrderStatus.CANCELLED
            await asyncio.sleep(0.3)
            assert cid not in rep.replaced
        remote = [o for o in sim.engine.orders.values() if o.api_key == rig.api_key]
        assert all(str(o.cl_ord_id) != rep.replaced.get(cid) for o in remote)
        entries = [o for o in second.engine.om.orders() if o.request.purpose is OrderPurpose.ENTRY]
        assert cid in {o.request.client_id for o in entries}
    finally:
        await sim.stop()
