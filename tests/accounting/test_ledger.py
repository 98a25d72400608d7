from decimal import Decimal as D

import pytest

from aitrader.accounting.entries import EntryKind
from aitrader.accounting.ledger import Ledger
from aitrader.core.errors import DataError, OrderError
from aitrader.core.orders import Fill, Side


def fill(
    fid: str, side: Side, amount: str, price: str, fee: str = "0", ccy: str = "USDT", sym: str = "BTC/USDT"
) -> Fill:
    return Fill(fid, "c-" + fid, sym, side, D(amount), D(price), D(fee), ccy, ts=1000 + int(fid))


def test_buy_then_partial_sell_hand_computed() -> None:
    led = Ledger({"USDT": D("10000")})
    entries = led.apply_fill(fill("1", Side.BUY, "0.4", "20000", "8"), "BTC", "USDT")
    assert [(e.currency, e.delta, e.kind, e.fill_id) for e in entries] == [
        ("USDT", D("-8000"), EntryKind.TRADE, "1"),
        ("BTC", D("0.4"), EntryKind.TRADE, "1"),
        ("USDT", D("-8"), EntryKind.FEE, "1"),
    ]
    led.apply_fill(fill("2", Side.BUY, "0.1", "18000", "1.8"), "BTC", "USDT")
    pos = led.position("BTC/USDT")
    assert pos is not None
    assert pos.amount == D("0.5") and pos.cost == D("9800")
    assert pos.avg_entry == D("19600")
    assert led.balance("USDT") == D("10000") - D("9800") - D("9.8")

    led.apply_fill(fill("3", Side.SELL, "0.25", "21000", "5.25"), "BTC", "USDT")
    # realized = 0.25 * (21000 - 19600) = 350, fees 8 + 1.8 + 5.25
    assert led.realized_pnl() == D("350")
    assert led.fees("BTC/USDT") == D("15.05")
    assert led.balance("USDT") == D("10000") - D("9800") - D("9.8") + D("5250") - D("5.25")
    marks = {"BTC/USDT": D("22000")}
    assert led.unrealized_pnl(marks) == D("0.25") * (D("22000") - D("19600"))
    assert led.equity(marks, "USDT") == led.balance("USDT") + D("0.25") * D("22000")
    assert led.equity(marks, "USDT") == D("10000") + D("350") - D("15.05") + D("600")

    led.apply_fill(fill("4", Side.SELL, "0.25", "19000", "0"), "BTC", "USDT")
    assert led.positions() == {}
    assert led.realized_pnl() == D("350") + D("0.25") * (D("19000") - D("19600"))
    assert led.equity({}, "USDT") == led.balance("USDT")


def test_refused_fills_change_nothing() -> None:
    led = Ledger({"USDT": D("10000")})
    with pytest.raises(OrderError, match="needs 10010"):
        led.apply_fill(fill("1", Side.BUY, "0.5", "20000", "10"), "BTC", "USDT")
    with pytest.raises(OrderError, match="long-only"):
        led.apply_fill(fill("2", Side.SELL, "0.1", "20000"), "BTC", "USDT")
    led.apply_fill(fill("3", Side.BUY, "0.1", "20000"), "BTC", "USDT")
    with pytest.raises(OrderError, match=r"position holds 0\.1"):
        led.apply_fill(fill("4", Side.SELL, "0.2", "20000"), "BTC", "USDT")
    with pytest.raises(OrderError, match="positive"):
        led.apply_fill(fill("5", Side.BUY, "0", "20000"), "BTC", "USDT")
    assert led.balances() == {"USDT": D("8000"), "BTC": D("0.1")}
    assert len(led.entries) == 1 + 2


def test_duplicate_fill_id_is_ignored() -> None:
    led = Ledger({"USDT": D("1000")})
    f = fill("1", Side.BUY, "1", "100", "0.1")
    assert len(led.apply_fill(f, "ETH", "USDT")) == 3
    assert led.apply_fill(f, "ETH", "USDT") == []
    assert led.balance("ETH") == D("1")


def test_base_currency_fee_is_valued_at_cost_and_identity_holds() -> None:
    led = Ledger({"USDT": D("1000")})
    led.apply_fill(fill("1", Side.BUY, "2", "100", "0.01", ccy="ETH", sym="ETH/USDT"), "ETH", "USDT")
    pos = led.position("ETH/USDT")
    assert pos is not None
    assert led.balance("ETH") == D("1.99") == pos.amount
    assert led.fees() == D("1.00")  # 0.01 ETH at the 100 cost basis
    marks = {"ETH/USDT": D("110")}
    assert led.equity(marks, "USDT") == D("800") + D("1.99") * D("110")
    assert led.equity(marks, "USDT") == led.contributed(
        "USDT"
    ) + led.realized_pnl() - led.fees() + led.unrealized_pnl(marks)


def test_third_currency_fee_and_funding_and_deposits() -> None:
    led = Ledger({"USDT": D("1000"), "BNB": D("1")})
    led.apply_fill(fill("1", Side.BUY, "1", "100", "0.002", ccy="BNB", sym="ETH/USDT"), "ETH", "USDT")
    assert led.balance("BNB") == D("0.998")
    assert led.fees_by_currency() == {"BNB": D("0.002")}
    assert led.fees() == 0
    led.apply_funding("USDT", D("-1.5"), 2000, symbol="ETH/USDT")
    led.deposit("USDT", D("50"), 3000)
    led.withdraw("USDT", D("20"), 4000)
    assert led.contributed("USDT") == D("1030") and led.funding("USDT") == D("-1.5")
    with pytest.raises(OrderError):
        led.withdraw("USDT", D("10000"), 5000)
    marks = {"ETH/USDT": D("90")}
    assert led.equity(marks, "USDT") == led.contributed("USDT") + led.funding("USDT") + led.unrealized_pnl(
        marks
    )
    kinds = {e.kind for e in led.entries}
    assert kinds == {
        EntryKind.DEPOSIT,
        EntryKind.TRADE,
        EntryKind.FEE,
        EntryKind.FUNDING,
        EntryKind.WITHDRAWAL,
    }


def test_equity_needs_marks_and_one_quote() -> None:
    led = Ledger({"USDT": D("1000"), "BTC": D("1")})
    led.apply_fill(fill("1", Side.BUY, "1", "100", sym="ETH/USDT"), "ETH", "USDT")
    with pytest.raises(DataError, match="no mark price for open position ETH/USDT"):
        led.equity({}, "USDT")
    led.apply_fill(fill("2", Side.BUY, "1", "0.05", sym="ETH/BTC"), "ETH", "BTC")
    with pytest.raises(DataError, match="quoted in BTC"):
        led.equity({"ETH/USDT": D("1"), "ETH/BTC": D("1")}, "USDT")
