"""Shared builders for the simulated-venue tests (Kraken ETH/USDT: tick 0.01, min 0.01 ETH)."""

from decimal import Decimal as D

from aitrader.core.candles import Candle
from aitrader.core.clock import SimulatedClock
from aitrader.core.orders import Fill, OrderRequest, OrderType, Side
from aitrader.core.ports import OrderUpdate, VenueEvent
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule, SlippageModel
from aitrader.venues.simulated import SimulatedVenue

SYM = "ETH/USDT"
STEP = 300_000
KRAKEN = MarketRegistry.load("kraken")


def venue(
    usdt: str = "10000", bps: str = "10", impact: str = "0.1", share: str = "0.5"
) -> tuple[SimulatedVenue, SimulatedClock]:
    clock = SimulatedClock(0)
    v = SimulatedVenue(
        clock,
        KRAKEN,
        {"USDT": D(usdt)},
        fees=FeeSchedule(maker=D("0.001"), taker=D("0.002")),
        slippage=SlippageModel(bps=D(bps), volume_impact=D(impact)),
        max_volume_share=D(share),
    )
    return v, clock


def candle(i: int, o: float, h: float, lo: float, c: float, v: float = 1000.0) -> Candle:
    return Candle(i * STEP, o, h, lo, c, v)


def req(
    cid: str,
    side: Side,
    typ: OrderType,
    amount: str,
    price: str | None = None,
    stop: str | None = None,
    trail: str | None = None,
    reduce_only: bool = False,
    sym: str = SYM,
) -> OrderRequest:
    return OrderRequest(
        cid,
        sym,
        side,
        typ,
        D(amount),
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
        trail=None if trail is None else D(trail),
        reduce_only=reduce_only,
    )


def fills(events: list[VenueEvent]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def updates(events: list[VenueEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def buy_position(v: SimulatedVenue, clock: SimulatedClock, amount: str = "1", at: int = 0) -> None:
    """Market-buy `amount` ETH on a flat 2000 candle with zero slippage impact (share small)."""
    clock.advance_to(at * STEP)
    v.submit(req(f"entry{at}", Side.BUY, OrderType.MARKET, amount))
    v.on_candle(SYM, candle(at, 2000, 2000, 2000, 2000, 1e9))
    v.drain_events()
