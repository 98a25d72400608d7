from decimal import Decimal as D

from sim_helpers import STEP, SYM, buy_position, candle, fills, req, updates, venue

from aitrader.core.orders import OrderStatus, OrderType, Side


def _with_stop_and_tp(stop: str = "1950", tp: str = "2050"):  # type: ignore[no-untyped-def]
    """1 ETH held, a reduce-only stop-loss and take-profit resting through one quiet candle."""
    v, clock = venue(bps="100", impact="0")
    buy_position(v, clock, "1", at=0)
    clock.advance_to(STEP)
    v.submit(req("sl", Side.SELL, OrderType.STOP_MARKET, "1", stop=stop, reduce_only=True))
    v.submit(req("tp", Side.SELL, OrderType.LIMIT, "1", price=tp, reduce_only=True))
    v.on_candle(SYM, candle(1, 2000, 2010, 1990, 2000))
    assert fills(v.drain_events()) == []
    clock.advance_to(2 * STEP)
    return v


def test_stop_triggers_intrabar_at_stop_level_with_slippage() -> None:
    v, clock = venue(bps="100", impact="0")
    buy_position(v, clock, "1")
    clock.advance_to(STEP)
    v.submit(req("sl", Side.SELL, OrderType.STOP_MARKET, "1", stop="1900"))
    v.on_candle(SYM, candle(1, 2000, 2000, 1901, 1950))
    assert fills(v.drain_events()) == []  # 1901 stays above the stop
    v.on_candle(SYM, candle(2, 1950, 1960, 1900, 1950))  # touching triggers a stop
    (f,) = fills(v.drain_events())
    assert (f.price, f.is_maker, f.fee) == (D("1881.00"), False, D("1881.00") * D("0.002"))


def test_stop_gapped_through_fills_at_the_worse_open() -> None:
    v, clock = venue(bps="100", impact="0")
    buy_position(v, clock, "1")
    clock.advance_to(STEP)
    v.submit(req("sl", Side.SELL, OrderType.STOP_MARKET, "1", stop="1900"))
    v.on_candle(SYM, candle(1, 1850, 1990, 1840, 1950))
    (f,) = fills(v.drain_events())
    assert f.price == D("1831.50")  # open 1850 - 1 %, not the 1900 stop


def test_buy_stop_breakout_entry_intrabar_and_gap() -> None:
    v, _clock = venue(bps="0", impact="0")
    v.submit(req("b1", Side.BUY, OrderType.STOP_MARKET, "1", stop="2100"))
    v.submit(req("b2", Side.BUY, OrderType.STOP_MARKET, "1", stop="2050"))
    v.on_candle(SYM, candle(0, 2000, 2060, 1990, 2040))
    (f,) = fills(v.drain_events())
    assert (f.client_id, f.price) == ("b2", D("2050"))
    v.on_candle(SYM, candle(1, 2150, 2160, 2140, 2150))
    (f,) = fills(v.drain_events())
    assert (f.client_id, f.price) == ("b1", D("2150"))  # gapped above the stop: the open


def test_both_touched_in_one_candle_assumes_the_stop_first() -> None:
    v = _with_stop_and_tp()
    v.on_candle(SYM, candle(2, 2000, 2060, 1940, 2000))  # touches 2050 TP and 1950 stop
    ev = v.drain_events()
    (f,) = fills(ev)
    assert (f.client_id, f.price) == ("sl", D("1930.50"))  # 1950 - 1 %
    tp = [u for u in updates(ev) if u.client_id == "tp"]
    assert tp[-1].status is OrderStatus.CANCELLED and "position closed" in tp[-1].reason
    assert v.ledger.positions() == {}


def test_both_touched_but_open_gaps_above_tp_the_open_decides() -> None:
    v = _with_stop_and_tp()
    v.on_candle(SYM, candle(2, 2055, 2060, 1940, 2000))
    ev = v.drain_events()
    (f,) = fills(ev)
    assert (f.client_id, f.price, f.is_maker) == ("tp", D("2050"), True)
    sl = [u for u in updates(ev) if u.client_id == "sl"]
    assert sl[-1].status is OrderStatus.CANCELLED


def test_both_touched_but_open_gaps_below_stop_fills_at_open() -> None:
    v = _with_stop_and_tp()
    v.on_candle(SYM, candle(2, 1945, 2060, 1940, 2000))
    (f,) = fills(v.drain_events())
    assert (f.client_id, f.price) == ("sl", D("1925.55"))  # open 1945 - 1 %


def test_trailing_stop_ratchets_after_the_trigger_check() -> None:
    v, clock = venue(bps="0", impact="0")
    buy_position(v, clock, "1")  # last close 2000
    clock.advance_to(STEP)
    v.submit(req("tr", Side.SELL, OrderType.STOP_MARKET, "1", trail="0.05", reduce_only=True))
    assert v.stop_level("tr") == D("1900.00")  # 2000 * 0.95 from the last close
    v.on_candle(SYM, candle(1, 2000, 2100, 1990, 2050))
    assert v.stop_level("tr") == D("1995.00")  # up with the high
    v.on_candle(SYM, candle(2, 2050, 2060, 1996, 2000))
    assert v.stop_level("tr") == D("1995.00")  # never down
    # the high of 2200 would lift the stop to 2090 (> low 2000), but the trigger is checked first
    v.on_candle(SYM, candle(3, 2050, 2200, 2000, 2150))
    assert fills(v.drain_events()) == []
    assert v.stop_level("tr") == D("2090.00")
    v.on_candle(SYM, candle(4, 2150, 2160, 2080, 2100))
    (f,) = fills(v.drain_events())
    assert (f.price, f.amount) == (D("2090.00"), D("1"))


def test_trailing_stop_restored_from_persisted_level_and_validated() -> None:
    v, _clock = venue(bps="0", impact="0")
    v.submit(req("t0", Side.SELL, OrderType.STOP_MARKET, "1", trail="0.05"))  # no candle yet
    v.submit(req("t1", Side.SELL, OrderType.STOP_MARKET, "1", trail="1.5", stop="1900"))
    v.submit(req("t2", Side.SELL, OrderType.LIMIT, "1", price="1900", trail="0.05"))
    v.submit(req("t3", Side.SELL, OrderType.STOP_MARKET, "1", trail="0.05", stop="1234.56"))
    ups = {u.client_id: u for u in updates(v.drain_events())}
    assert "needs a previous candle" in ups["t0"].reason
    assert "fraction in (0, 1)" in ups["t1"].reason
    assert "only valid on stop_market" in ups["t2"].reason
    assert ups["t3"].status is OrderStatus.OPEN and v.stop_level("t3") == D("1234.56")


def test_buy_trailing_stop_follows_the_low() -> None:
    v, _ = venue(bps="0", impact="0")
    v.submit(req("x", Side.BUY, OrderType.STOP_MARKET, "0.1", trail="0.1", stop="2200"))
    v.on_candle(SYM, candle(0, 2000, 2010, 1900, 1950))
    assert v.stop_level("x") == D("2090.00")
    v.on_candle(SYM, candle(1, 1950, 2100, 1940, 2050))
    (f,) = fills(v.drain_events())
    assert f.price == D("2090.00")


def test_triggered_stop_remainder_fills_at_next_open() -> None:
    v, clock = venue(bps="0", impact="0", share="0.5")
    buy_position(v, clock, "3")
    clock.advance_to(STEP)
    v.submit(req("sl", Side.SELL, OrderType.STOP_MARKET, "3", stop="1900"))
    v.on_candle(SYM, candle(1, 1950, 1960, 1890, 1895, 2))  # 1 ETH of volume for us
    v.on_candle(SYM, candle(2, 1990, 2000, 1980, 1990, 100))  # back above the stop: still a market order
    assert [(f.amount, f.price) for f in fills(v.drain_events())] == [
        (D("1"), D("1900")),
        (D("2"), D("1990")),
    ]
