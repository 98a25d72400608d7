import logging
from decimal import Decimal as D

import pytest
from sim_helpers import STEP, SYM, candle, fills, req, updates, venue

from aitrader.core.candles import Candle
from aitrader.core.errors import OrderError
from aitrader.core.orders import OrderStatus, OrderType, Side
from aitrader.core.ports import OrderUpdate


def test_hand_computed_scenario_partial_fill_slippage_fees_pnl() -> None:
    v, clock = venue()  # maker 0.1 %, taker 0.2 %, 10 bps + 0.1 x volume share, max share 50 %
    v.submit(req("m1", Side.BUY, OrderType.MARKET, "2"))
    v.submit(req("l1", Side.BUY, OrderType.LIMIT, "1", price="1990"))
    v.submit(req("l2", Side.BUY, OrderType.LIMIT, "1", price="1980"))
    v.on_candle(SYM, candle(0, 2000, 2050, 1980, 2040, 10))
    ev = v.drain_events()
    # market: slip 0.001 + 0.1 * 2/10 = 2.1 % -> 2042.00, taker fee 2*2042*0.002 = 8.168
    # l1: low 1980 < 1990 -> 1 @ 1990 maker fee 1.99; l2: low == 1980 only touches -> no fill
    assert [(f.client_id, f.amount, f.price, f.fee, f.is_maker) for f in fills(ev)] == [
        ("m1", D("2"), D("2042.00"), D("8.16800"), False),
        ("l1", D("1"), D("1990"), D("1.990"), True),
    ]
    assert [(u.client_id, u.status) for u in updates(ev)][-2:] == [
        ("m1", OrderStatus.FILLED),
        ("l1", OrderStatus.FILLED),
    ]
    assert v.balances() == {"USDT": D("3915.842"), "ETH": D("3")}

    clock.advance_to(STEP)
    v.submit(req("tp", Side.SELL, OrderType.LIMIT, "3", price="2100", reduce_only=True))
    v.on_candle(SYM, candle(1, 2030, 2110, 2020, 2100, 4))  # volume cap 2 ETH
    ev = v.drain_events()
    assert [(f.client_id, f.amount, f.price, f.fee) for f in fills(ev)] == [
        ("tp", D("2"), D("2100"), D("4.200"))
    ]
    order = v.order("tp")
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED and order.remaining == D("1")

    clock.advance_to(2 * STEP)
    v.on_candle(SYM, candle(2, 2120, 2130, 2090, 2125, 10))  # gaps above the resting TP: its own price
    ev = v.drain_events()
    assert [(f.amount, f.price, f.fee, f.is_maker) for f in fills(ev)] == [
        (D("1"), D("2100"), D("2.100"), True)
    ]
    assert order.status is OrderStatus.FILLED and order.avg_price == D("2100")
    v.cancel("l2")
    assert updates(v.drain_events())[0].status is OrderStatus.CANCELLED

    led = v.ledger
    assert v.balances() == {"USDT": D("10209.542"), "ETH": D("0")}
    assert led.realized_pnl(SYM) == D("6300") - D("6074")  # sold 3 @ 2100, bought for 4084 + 1990
    assert led.fees(SYM) == D("8.168") + D("1.99") + D("4.2") + D("2.1")
    assert led.equity({}, "USDT") == D("10000") + D("226") - D("16.458")
    assert v.open_orders() == []


def test_marketable_limit_on_arrival_fills_at_open_as_taker_capped_at_limit() -> None:
    v, _ = venue(bps="100", impact="0")
    v.submit(req("a", Side.BUY, OrderType.LIMIT, "1", price="2010"))
    v.on_candle(SYM, candle(0, 2000, 2020, 1995, 2005))
    (f,) = fills(v.drain_events())
    assert (f.price, f.is_maker) == (D("2010"), False)  # 1 % slip would be 2020: capped at the limit
    assert f.fee == D("2010") * D("0.002")


def test_resting_buy_limit_gapped_through_fills_at_limit_price_as_maker() -> None:
    v, clock = venue()
    v.submit(req("a", Side.BUY, OrderType.LIMIT, "1", price="1990"))
    v.on_candle(SYM, candle(0, 2000, 2010, 1995, 2000))
    assert fills(v.drain_events()) == []
    clock.advance_to(STEP)
    v.on_candle(SYM, candle(1, 1950, 1960, 1940, 1955))
    (f,) = fills(v.drain_events())
    assert (f.price, f.is_maker) == (D("1990"), True)


def test_good_till_date_limit_trades_until_its_expiry_then_expires_before_the_next_bar() -> None:
    v, clock = venue()
    order = req("g", Side.BUY, OrderType.LIMIT, "1", price="1990")
    order.expire_ms = 2 * STEP  # good through bar 1, gone before bar 2 opens
    v.submit(order)
    v.on_candle(SYM, candle(0, 2000, 2010, 1995, 2000))
    clock.advance_to(STEP)
    v.on_candle(SYM, candle(1, 2000, 2010, 1995, 2000))
    assert fills(v.drain_events()) == []
    clock.advance_to(2 * STEP)
    v.on_candle(SYM, candle(2, 1950, 1960, 1940, 1955))  # would fill at 1990: too late
    ev = v.drain_events()
    assert fills(ev) == [] and [(u.client_id, u.status, u.ts) for u in updates(ev)] == [
        ("g", OrderStatus.EXPIRED, 2 * STEP)
    ]
    assert v.open_orders() == [] and v.balances() == {"USDT": D("10000")}


def test_expiry_not_in_the_future_is_rejected() -> None:
    v, clock = venue()
    clock.advance_to(STEP)
    late = req("late", Side.BUY, OrderType.LIMIT, "1", price="1990")
    late.expire_ms = STEP
    v.submit(late)
    (u,) = updates(v.drain_events())
    assert u.status is OrderStatus.REJECTED and "not in the future" in u.reason


def test_orders_submitted_after_candle_open_wait_for_the_next_candle() -> None:
    v, clock = venue(impact="0")
    clock.advance_to(STEP + 1)
    v.submit(req("a", Side.BUY, OrderType.MARKET, "1"))
    v.on_candle(SYM, candle(1, 2000, 2000, 2000, 2000))
    assert fills(v.drain_events()) == []
    v.on_candle(SYM, candle(2, 2100, 2100, 2100, 2100, 1e9))
    (f,) = fills(v.drain_events())
    assert f.price == D("2102.10") and f.ts == 2 * STEP  # next open + 10 bps


def test_market_partial_fills_continue_at_next_opens_and_zero_volume_fills_nothing() -> None:
    v, _ = venue(impact="0", share="0.25")
    v.submit(req("a", Side.BUY, OrderType.MARKET, "3"))
    v.on_candle(SYM, candle(0, 2000, 2000, 2000, 2000, 4))  # 1 ETH available
    v.on_candle(SYM, candle(1, 2000, 2000, 2000, 2000, 0))  # nothing traded
    v.on_candle(SYM, candle(2, 2010, 2010, 2010, 2010, 40))
    f = fills(v.drain_events())
    assert [(x.amount, x.price) for x in f] == [(D("1"), D("2002.00")), (D("2"), D("2012.01"))]
    o = v.order("a")
    assert o is not None and o.status is OrderStatus.FILLED
    assert o.avg_price == (D("2002") + 2 * D("2012.01")) / 3


def test_nan_volume_means_no_cap_and_no_impact() -> None:
    v, _ = venue(impact="1")
    v.submit(req("a", Side.BUY, OrderType.MARKET, "3"))
    v.on_candle(SYM, Candle(0, 2000.0, 2000.0, 2000.0, 2000.0, float("nan")))
    (f,) = fills(v.drain_events())
    assert (f.amount, f.price) == (D("3"), D("2002.00"))


def test_precision_and_min_size_rejections_on_real_kraken_market() -> None:
    v, _ = venue()
    v.submit(req("small", Side.BUY, OrderType.LIMIT, "0.005", price="2000"))
    v.submit(req("tick", Side.BUY, OrderType.LIMIT, "0.1", price="2000.005"))
    v.submit(req("step", Side.BUY, OrderType.LIMIT, "0.123456789", price="2000"))
    v.submit(req("noprice", Side.BUY, OrderType.LIMIT, "1"))
    v.submit(req("funds", Side.BUY, OrderType.LIMIT, "5", price="2000"))
    v.submit(req("nostop", Side.SELL, OrderType.STOP_MARKET, "1"))
    ups = {u.client_id: u for u in updates(v.drain_events())}
    assert all(u.status is OrderStatus.REJECTED for u in ups.values())
    assert "below the minimum 0.01 ETH" in ups["small"].reason
    assert "not a multiple of the price tick 0.01" in ups["tick"].reason
    assert "not a multiple of the amount step" in ups["step"].reason
    assert "needs a price" in ups["noprice"].reason
    assert "insufficient USDT" in ups["funds"].reason
    assert "needs a stop_price" in ups["nostop"].reason
    assert v.open_orders() == []


def test_duplicate_client_id_is_idempotent() -> None:
    v, _ = venue()
    v.submit(req("a", Side.BUY, OrderType.MARKET, "1"))
    v.submit(req("a", Side.BUY, OrderType.MARKET, "1"))
    ups = updates(v.drain_events())
    assert [u.status for u in ups] == [OrderStatus.OPEN, OrderStatus.OPEN]
    assert "duplicate" in ups[1].reason and ups[1].venue_id == ups[0].venue_id
    v.on_candle(SYM, candle(0, 2000, 2000, 2000, 2000, 1e9))
    assert len(fills(v.drain_events())) == 1
    v.submit(req("a", Side.BUY, OrderType.MARKET, "1"))
    (u,) = updates(v.drain_events())
    assert u.status is OrderStatus.FILLED and u.filled == D("1")
    assert v.balances()["ETH"] == D("1")


def test_buy_cut_to_balance_and_rest_cancelled() -> None:
    v, _ = venue(usdt="1000", bps="0", impact="0")
    v.submit(req("a", Side.BUY, OrderType.MARKET, "1"))  # no reference price yet: accepted
    v.on_candle(SYM, candle(0, 2000, 2000, 2000, 2000))
    ev = v.drain_events()
    (f,) = fills(ev)
    assert f.amount == D("0.49900199")  # 1000 / (2000 * 1.002), down to the step
    assert f.amount * f.price + f.fee <= D("1000")
    last = updates(ev)[-1]
    assert last.status is OrderStatus.CANCELLED and "insufficient USDT" in last.reason


def test_cancel_rules() -> None:
    v, _ = venue()
    v.submit(req("a", Side.BUY, OrderType.LIMIT, "1", price="1000"))
    v.cancel("a")
    v.cancel("a")
    ups = updates(v.drain_events())
    assert [u.status for u in ups] == [OrderStatus.OPEN, OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    assert "already cancelled" in ups[2].reason
    with pytest.raises(OrderError, match="no such order"):
        v.cancel("nope")
    v.on_candle(SYM, candle(0, 900, 900, 900, 900))
    assert v.drain_events() == []


def test_unknown_market_uses_defaults_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    v, _ = venue()
    with caplog.at_level(logging.WARNING):
        v.submit(req("a", Side.BUY, OrderType.LIMIT, "0.123456789", price="1", sym="FOO/USDT"))
        v.submit(req("b", Side.BUY, OrderType.LIMIT, "0.12345678", price="1", sym="FOO/USDT"))
    ups = [e for e in v.drain_events() if isinstance(e, OrderUpdate)]
    assert [u.status for u in ups] == [OrderStatus.REJECTED, OrderStatus.OPEN]  # default 1e-8 step applies
    assert sum("FOO/USDT" in r.getMessage() for r in caplog.records) == 1
