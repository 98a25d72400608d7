"""Shared rig for the live-execution tests: the Kraken simulator on its own thread, a real ccxt.pro
client behind a `CcxtVenue`, and an OrderManager fed from the venue's events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from aitrader.core.orders import OrderPurpose, OrderRequest, OrderType, Side
from aitrader.execution.order_manager import OrderManager
from aitrader.execution.retries import RetryPolicy
from aitrader.execution.trailing import TriggerBook
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.simulator import FaultSpec, KrakenSimulator, Series, SimOrder, load_series

OHLCV = Path(__file__).resolve().parents[2] / "src" / "aitrader" / "sample_data" / "ohlcv"
SYM = "ETH/BTC"
FIVE_MIN = 300_000
FAST = RetryPolicy(max_attempts=8, base_ms=20, cap_ms=200, rate_limited_base_ms=40, seed=1)
_SERIES: list[Series] = []


def eth_btc() -> Series:
    if not _SERIES:
        _SERIES.append(load_series(OHLCV / "bittrex_ETH_BTC-5m.csv"))
    return _SERIES[0]


class SimTime:
    """The simulator's replay clock as our `Clock` (the venue and OrderManager share its 'now')."""

    def __init__(self, sim: KrakenSimulator) -> None:
        self.sim = sim

    def now(self) -> int:
        return self.sim.clock.now()


@contextmanager
def running_sim(
    faults: FaultSpec | None = None, hang_s: float = 1.5, start: int = 12
) -> Iterator[KrakenSimulator]:
    s = eth_btc()
    sim = KrakenSimulator([s], start_ms=s.ts[start], faults=faults, hang_s=hang_s)
    with sim.running():
        yield sim


def client_factory(sim: KrakenSimulator, key: str, secret: str, timeout_ms: int = 800) -> Callable[[], Any]:
    def make() -> Any:
        return make_exchange(
            "kraken",
            sim.base_url,
            sim.ws_url,
            key,
            secret,
            pro=True,
            options={"rateLimit": 5, "timeout": timeout_ms},
        )

    return make


def new_venue(
    sim: KrakenSimulator, key: str, secret: str, triggers: TriggerBook | None = None, **kw: Any
) -> CcxtVenue:
    kw.setdefault("poll_interval_ms", 300)
    kw.setdefault("policy", FAST)
    return CcxtVenue(client_factory(sim, key, secret), clock=SimTime(sim), triggers=triggers, **kw).start()


def pump(om: OrderManager, venue: CcxtVenue, until: Callable[[], bool], timeout: float = 10.0) -> None:
    """Feed venue events into the OrderManager until `until()` holds (fails the test on timeout)."""
    end = time.monotonic() + timeout
    while True:
        om.on_events(venue.drain_events())
        if until():
            return
        assert time.monotonic() < end, f"condition not reached in {timeout}s; venue errors: {venue.errors}"
        time.sleep(0.02)


def settle(om: OrderManager, venue: CcxtVenue, timeout: float = 10.0) -> None:
    """Wait until nothing is in flight and every order reached a final state."""
    pump(om, venue, lambda: venue.idle() and not om.open_orders(), timeout)


def add_order_calls(sim: KrakenSimulator) -> int:
    return sum(1 for _t, api, method, _q in sim.requests if api == "private" and method == "AddOrder")


def sim_orders(sim: KrakenSimulator, key: str) -> list[SimOrder]:
    with sim.engine.lock:
        return [o for o in sim.engine.orders.values() if o.api_key == key]


def request(
    cid: str,
    side: Side,
    amount: str,
    typ: OrderType = OrderType.MARKET,
    price: str | None = None,
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    stop: str | None = None,
    trail: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        cid,
        SYM,
        side,
        typ,
        Decimal(amount),
        price=None if price is None else Decimal(price),
        stop_price=None if stop is None else Decimal(stop),
        purpose=purpose,
        trail=None if trail is None else Decimal(trail),
        reduce_only=purpose is not OrderPurpose.ENTRY,
    )
