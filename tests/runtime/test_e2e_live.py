"""End to end in live mode: the same session with CcxtVenue sending real orders (ccxt.pro, signed REST +
private WebSocket) to the simulator while it answers 429/5xx, times out after accepting orders, fills
partially and drops/duplicates WebSocket messages. Ends with no order created twice on the exchange,
balanced books, and our balances, orders and fills equal to the simulator's account."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path

from runtime_helpers import eventually, replay_live, series, settings_for

from aitrader.core.orders import OrderStatus
from aitrader.runtime.session import Session, SessionOptions
from aitrader.storage.db import make_engine
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import FaultSpec, KrakenSimulator

FAULTS = (
    "http_429=0.05,http_5xx=0.05,timeout_after_accept=0.1,partial=0.3,drop_ws=0.005,duplicate_ws=0.05,reject=0.2,"
    "seed=5"
)


async def test_live_session_against_a_faulty_exchange_ends_equal_to_it(tmp_path: Path) -> None:
    feeds = [series("ETH_BTC", 600), series("XLM_BTC", 600)]
    symbols = [s.symbol for s in feeds]
    sim = KrakenSimulator(feeds, start_ms=feeds[0].ts[300], faults=FaultSpec.parse(FAULTS), hang_s=1.0)
    sim.faults.burst("reject")  # the first order is refused whatever the timing; later ones at 20 %
    await sim.start()
    acc = sim.add_account({"BTC": "1"})
    url = f"sqlite:///{tmp_path / 'live.db'}"
    settings = settings_for(sim, symbols, url, risk={"max_exposure_per_pair": "0.5"})
    settings.exchange.rate_limit_ms = 5  # the replay runs a candle per ~0.1 s: no 3 s REST spacing
    opts = SessionOptions(mode="live", exchange_keys=(acc.api_key, acc.secret), max_lag_s=1.0)
    session = Session(settings, make_engine(url), opts)
    task = asyncio.create_task(session.run(install_signals=False))
    try:
        await replay_live(session, sim, acc.api_key, candles=80, pairs=2)
        assert isinstance(session.venue.inner, CcxtVenue)  # type: ignore[attr-defined]
        # the own-orders connection is supervised like the market data and published with it
        # (a dropped socket may be in backoff right now: between drops there is one of each, never more)
        seen: list[dict[str, int]] = []

        def connected() -> bool:
            private = session._stream_status()["private"]
            seen.append(private["subscriptions"])
            return private["state"] in ("subscribed", "streaming") and len(seen[-1]) == 2

        await eventually(connected, what="the private stream connected")
        assert seen[-1] == {"my_trades": 1, "orders": 1}
        assert all(set(s.values()) <= {1} for s in seen)
        await asyncio.sleep(0.5)
        session.supervisor.request_stop("test done")
        result = await asyncio.wait_for(task, 60)
    finally:
        if not task.done():
            task.cancel()
        await sim.stop()

    eng = session.engine
    orders = eng.om.orders()
    assert result.fills >= 3 and len(orders) >= 4
    # nothing created twice on the exchange, and every order the exchange has is one of ours
    remote = [o for o in sim.engine.orders.values() if o.api_key == acc.api_key]
    per_id = Counter(o.cl_ord_id for o in remote)
    assert per_id and max(per_id.values()) == 1
    mine = {o.request.client_id: o for o in orders}
    assert set(per_id) <= set(mine)
    # orders the exchange refused ended rejected here, once, and exist nowhere on the exchange
    refused = [o for o in orders if o.status is OrderStatus.REJECTED]
    assert sim.faults.counts["reject"] >= 1 and refused
    assert not {o.request.client_id for o in refused} & set(per_id)
    for o in remote:
        local = mine[str(o.cl_ord_id)]
        assert local.filled == o.vol_exec, (o.cl_ord_id, local.status, o.status)
    # our books equal the exchange account, and balance
    # (the exchange books quote amounts at its own precision, 1e-10 BTC here; our ledger keeps amount x
    # price exact, so each fill may differ below that precision)
    account = sim.engine.accounts[acc.api_key].balances
    ours = eng.ledger.balances()
    for ccy in set(account) | set(ours):
        diff = abs(ours.get(ccy, Decimal(0)) - account.get(ccy, Decimal(0)))
        assert diff <= Decimal("1e-10") * result.fills, (ccy, ours.get(ccy), account.get(ccy))
    sums: dict[str, Decimal] = {}
    for e in eng.ledger.entries:
        sums[e.currency] = sums.get(e.currency, Decimal(0)) + e.delta
    assert {c: v for c, v in sums.items() if v} == {c: v for c, v in ours.items() if v}
    # Kraken's nonces came from storage (they survive a restart), keyed by a digest of the key, not the key
    from sqlalchemy import select

    from aitrader.storage.schema import NonceRow

    with make_engine(url).connect() as conn:
        rows = conn.execute(select(NonceRow.exchange, NonceRow.account, NonceRow.value)).all()
    assert [(r.exchange, len(r.account)) for r in rows] == [("kraken", 16)]
    assert rows[0].account != acc.api_key and rows[0].value > 0
