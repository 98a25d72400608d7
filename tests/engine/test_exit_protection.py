"""An exit in progress never gets protective orders: when `_exit` cancels a partly filled entry, the
cancel must not place a stop/take for what the entry bought (they would rest beside the exit and could
close the position a second time or in its place). The exit closes the remainder alone.

Partial entries come from the venue's volume cap on real candles."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from engine_rig import PAIRS, run_engine, sample_candles

from aitrader.core.orders import Order, OrderPurpose, Side
from aitrader.engine.engine import EngineResult

_PROTECTIVE = {OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT, OrderPurpose.TRAILING_STOP}


def _overlaps(result: EngineResult) -> list[tuple[Order, Order]]:
    """(exit, protective) pairs of one symbol that were open at the same time."""
    exits = [o for o in result.orders if o.request.purpose is OrderPurpose.EXIT]
    prot = [o for o in result.orders if o.request.purpose in _PROTECTIVE]
    return [
        (e, p) for e in exits for p in prot
        if p.request.symbol == e.request.symbol
        and p.request.created_ms <= e.updated_ms
        and p.updated_ms > e.request.created_ms
    ]


def _sold_and_bought(result: EngineResult, symbol: str) -> tuple[Decimal, Decimal]:
    sold = bought = Decimal(0)
    for o in result.orders:
        if o.request.symbol != symbol:
            continue
        for f in o.fills:
            if f.side is Side.SELL:
                sold += f.amount
            else:
                bought += f.amount
    return sold, bought


def test_exit_during_partial_entry_places_no_stop_or_take() -> None:
    """ETH/BTC, 0.5 BTC stake with a 2% volume cap: the entry at bar 11's open fills in part, the exit
    signal at bar 11 cancels the rest; the exit alone sells the part at bar 12's open."""
    candles = sample_candles(("ETH/BTC",), start=1000, length=60)
    ts = candles["ETH/BTC"].ts
    d = np.zeros(len(ts), dtype=np.int8)
    d[10], d[11] = 1, -1
    kw = {"max_volume_share": Decimal("0.02"), "stop_frac": 0.001, "take_frac": 0.001}
    for dense in (True, False):
        res, _ = run_engine(candles, {"ETH/BTC": d}, dense=dense, **kw)  # type: ignore[arg-type]
        entry = next(o for o in res.orders if o.request.purpose is OrderPurpose.ENTRY)
        assert Decimal(0) < entry.filled < entry.request.amount  # the case: a partly filled entry
        assert [o.request.purpose for o in res.orders] == [OrderPurpose.ENTRY, OrderPurpose.EXIT]
        (trade,) = res.trades.to_records()
        assert trade["exit_reason"] == "exit_signal"
        assert trade["exit_time"] == int(ts[12])
        assert Decimal(str(trade["amount"])) == entry.filled
        sold, bought = _sold_and_bought(res, "ETH/BTC")
        assert sold == bought == entry.filled


def test_no_protective_order_rests_beside_an_exit_on_real_data() -> None:
    """All six pairs, frequent entries and exits with a tight volume cap (many partial entries cut by
    exits and by the kill switch's flattening): no stop/take is ever open together with an exit."""
    candles = sample_candles(PAIRS, start=2000, length=1500)
    rng = np.random.default_rng(11)
    odds = [0.05, 0.9, 0.05]
    dirs = {p: rng.choice([-1, 0, 1], size=len(c), p=odds).astype(np.int8) for p, c in candles.items()}
    for kill in (None, 30):
        res, _ = run_engine(candles, dirs, dense=False, kill_after=kill, max_volume_share=Decimal("0.002"))
        cut = [
            o for o in res.orders
            if o.request.purpose is OrderPurpose.ENTRY and Decimal(0) < o.filled < o.request.amount
        ]
        assert len(cut) > 20  # the case happens often
        assert _overlaps(res) == []
        for p in candles:
            sold, bought = _sold_and_bought(res, p)
            assert sold <= bought
