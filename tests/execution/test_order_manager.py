"""OrderManager: idempotent submit, state machine, fills -> positions, protective orders (OCO on flat)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aitrader.core.candles import Candle
from aitrader.core.clock import SimulatedClock
from aitrader.core.errors import OrderError
from aitrader.core.orders import Fill, OrderPurpose, OrderRequest, OrderStatus, OrderType, Side
from aitrader.core.ports import OrderUpdate, VenueEvent
from aitrader.execution.order_manager import OrderManager

D = Decimal


class RecordingVenue:
    """Records what the manager sends; events are injected by the test."""

    def __init__(self) -> None:
        self.submitted: list[OrderRequest] = []
        self.cancelled: list[str] = []

    def submit(self, request: OrderRequest) -> None:
        self.submitted.append(request)

    def cancel(self, client_id: str) -> None:
        self.cancelled.append(client_id)

    def on_candle(self, symbol: str, candle: Candle) -> None:
        pass

    def drain_events(self) -> list[VenueEvent]:
        return []

    def balances(self) -> dict[str, Decimal]:
        return {}


def _mgr() -> tuple[OrderManager, RecordingVenue]:
    v = RecordingVenue()
    return OrderManager(v, SimulatedClock(1_000), id_prefix="t"), v


def _req(
    m: OrderManager,
    side: Side = Side.BUY,
    amount: str = "2",
    purpose: OrderPurpose = OrderPurpose.ENTRY,
    type_: OrderType = OrderType.MARKET,
    stop: str | None = None,
) -> OrderRequest:
    return OrderRequest(
        client_id=m.new_client_id("ETH/BTC"),
        symbol="ETH/BTC",
        side=side,
        type=type_,
        amount=D(amount),
        stop_price=D(stop) if stop else None,
        purpose=purpose,
    )


def _fill(req: OrderRequest, fid: str, amount: str, price: str, fee: str = "0") -> Fill:
    return Fill(fid, req.client_id, req.symbol, req.side, D(amount), D(price), D(fee), "BTC", 2_000)


def test_client_ids_are_unique_and_deterministic() -> None:
    a, _ = _mgr()
    b, _ = _mgr()
    ids_a = [a.new_client_id("ETH/BTC") for _ in range(5)]
    ids_b = [b.new_client_id("ETH/BTC") for _ in range(5)]
    assert ids_a == ids_b
    assert len(set(ids_a)) == 5


def test_submit_is_idempotent() -> None:
    m, v = _mgr()
    req = _req(m)
    first = m.submit(req)
    again = m.submit(req)
    assert first is again
    assert len(v.submitted) == 1


def test_partial_fills_average_price_and_complete() -> None:
    m, _ = _mgr()
    req = _req(m, amount="3")
    m.submit(req)
    m.on_events([OrderUpdate(req.client_id, OrderStatus.OPEN, 1_500, venue_id="v1")])
    new = m.on_events([_fill(req, "f1", "1", "10", "0.01"), _fill(req, "f2", "2", "13", "0.026")])
    assert len(new) == 2
    o = m.order(req.client_id)
    assert o.status is OrderStatus.FILLED
    assert o.avg_price == D(12)  # (10*1 + 13*2) / 3
    assert o.fees == D("0.036")
    assert o.venue_id == "v1"
    pos = m.position("ETH/BTC")
    assert pos is not None and pos.amount == D(3) and pos.avg_price == D(12)
    # a replayed fill and a repeated FILLED update change nothing
    assert (
        m.on_events([_fill(req, "f2", "2", "13"), OrderUpdate(req.client_id, OrderStatus.FILLED, 3_000)])
        == []
    )
    assert m.position("ETH/BTC").amount == D(3)  # type: ignore[union-attr]
    assert m.open_orders() == []


def test_illegal_transition_raises() -> None:
    m, _ = _mgr()
    req = _req(m)
    m.submit(req)
    m.apply_update(OrderUpdate(req.client_id, OrderStatus.CANCELLED, 1_100))
    with pytest.raises(OrderError, match="illegal order transition cancelled -> open"):
        m.apply_update(OrderUpdate(req.client_id, OrderStatus.OPEN, 1_200))
    with pytest.raises(OrderError, match="illegal"):
        m.apply_fill(_fill(req, "late", "1", "10"))


def test_overfill_and_unknown_orders_raise() -> None:
    m, _ = _mgr()
    req = _req(m, amount="1")
    m.submit(req)
    with pytest.raises(OrderError, match="exceed"):
        m.apply_fill(_fill(req, "x", "1.5", "10"))
    with pytest.raises(OrderError, match="unknown order"):
        m.apply_update(OrderUpdate("nope", OrderStatus.OPEN, 0))


def test_protective_orders_cancelled_when_flat() -> None:
    m, v = _mgr()
    entry = _req(m, amount="2")
    m.submit(entry)
    m.on_events([_fill(entry, "e", "2", "100")])
    stop = _req(m, Side.SELL, "2", OrderPurpose.STOP_LOSS, OrderType.STOP_MARKET, stop="95")
    take = _req(m, Side.SELL, "2", OrderPurpose.TAKE_PROFIT, OrderType.LIMIT)
    m.protect("ETH/BTC", stop, take)
    pos = m.position("ETH/BTC")
    assert (
        pos is not None and pos.stop_client_id == stop.client_id and pos.take_client_id == take.client_id
    )
    assert m.exit_side("ETH/BTC") is Side.SELL
    # the stop triggers: position flat, the take must be cancelled, the filled stop not
    m.on_events([_fill(stop, "s", "2", "95")])
    assert m.position("ETH/BTC") is None
    assert v.cancelled == [take.client_id]
    m.on_events([OrderUpdate(take.client_id, OrderStatus.CANCELLED, 5_000)])
    assert m.open_orders("ETH/BTC") == []


def test_protect_requires_position_and_protective_purpose() -> None:
    m, _ = _mgr()
    with pytest.raises(OrderError, match="no open position"):
        m.protect("ETH/BTC", None, None)
    entry = _req(m)
    m.submit(entry)
    m.on_events([_fill(entry, "e", "2", "100")])
    with pytest.raises(OrderError, match="not protective"):
        m.protect("ETH/BTC", _req(m, Side.SELL), None)
