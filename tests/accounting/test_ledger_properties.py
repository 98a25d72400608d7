"""Property: after any sequence of fills (valid ones booked, invalid ones refused atomically) the
books balance exactly in Decimal."""

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from aitrader.accounting.ledger import Ledger
from aitrader.core.errors import OrderError
from aitrader.core.orders import Fill, Side

SYMBOLS = {"BTC/USDT": ("BTC", "USDT"), "ETH/USDT": ("ETH", "USDT")}

amounts = st.integers(1, 5 * 10**8).map(lambda n: D(n).scaleb(-8))  # 1e-8 .. 5, 8 decimals
prices = st.integers(1, 10**9).map(lambda n: D(n).scaleb(-4))  # 0.0001 .. 100000
fee_rates = st.sampled_from([D(0), D("0.001"), D("0.0026")])
ops = st.tuples(
    st.sampled_from(sorted(SYMBOLS)),
    st.sampled_from([Side.BUY, Side.SELL]),
    amounts,
    prices,
    fee_rates,
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, max_size=40), st.dictionaries(st.sampled_from(sorted(SYMBOLS)), prices, min_size=2))
def test_books_balance_after_any_fill_sequence(seq: list, marks: dict) -> None:  # type: ignore[type-arg]
    start = D("100000")
    led = Ledger({"USDT": start})
    quote_cash = start
    held = {s: D(0) for s in SYMBOLS}
    for i, (sym, side, amount, price, rate, fee_in_base) in enumerate(seq):
        base, quote = SYMBOLS[sym]
        fee = (amount * rate).quantize(D("1E-8")) if fee_in_base else amount * price * rate
        f = Fill(str(i), f"c{i}", sym, side, amount, price, fee, base if fee_in_base else quote, ts=i)
        before = (led.balances(), len(led.entries))
        try:
            led.apply_fill(f, base, quote)
        except OrderError:
            assert (led.balances(), len(led.entries)) == before  # refused atomically
            continue
        # independent bookkeeping of what the fill must have done
        quote_cash += -side.sign * amount * price - (0 if fee_in_base else fee)
        held[sym] += side.sign * amount - (fee if fee_in_base else 0)

    assert led.balance("USDT") == quote_cash
    for sym, (base, _) in SYMBOLS.items():
        assert led.balance(base) == held[sym]
        assert held[sym] >= 0
    # entries sum to balances, per currency
    sums: dict[str, D] = {}
    for e in led.entries:
        sums[e.currency] = sums.get(e.currency, D(0)) + e.delta
    assert sums == led.balances()
    # equity is cash plus positions at mark, and equals the PnL decomposition, exactly
    eq = led.equity(marks, "USDT")
    assert eq == quote_cash + sum(held[s] * marks[s] for s in SYMBOLS)
    assert eq == start + led.realized_pnl() - led.fees() + led.unrealized_pnl(marks)
    for p in led.positions().values():
        assert p.amount > 0 and p.cost >= 0
