"""The hot dataclasses write their own `__init__` (`init=False`, so mypyc compiles it; see core.orders).
Hand-written, it could drift from the fields: a parameter missing, renamed, reordered, or with another
default than its field. Each record here is built three ways, and each must give the same object as
the fields say: by keyword (names), positionally in field order (order), and with only the required
fields (defaults: the field's default, or a fresh value of its default factory). Compiled, creating
one without arguments runs that `__init__`, which copy and pickle do: they go through `__reduce__`
(core.records), checked here too. Runs compiled or not."""

from __future__ import annotations

import copy
import math
import pickle
from dataclasses import MISSING, fields
from decimal import Decimal
from typing import Any

import pytest

from aitrader.accounting.entries import EntryKind, LedgerEntry
from aitrader.accounting.positions import Position
from aitrader.core.candles import Candle
from aitrader.core.decisions import Decision
from aitrader.core.orders import BUY, LIMIT, SELL, STOP_LOSS, Fill, Order, OrderRequest, OrderStatus
from aitrader.core.ports import CandleClosed, OrderUpdate
from aitrader.engine import recorder
from aitrader.engine.interest import Interest
from aitrader.risk.rejection import Rejection

REQ = OrderRequest("c-1", "ETH/USDT", BUY, LIMIT, Decimal("1.5"))
FILL = Fill("f-1", "c-1", "ETH/USDT", SELL, Decimal(2), Decimal(3), Decimal("0.01"), "USDT", 7, True)

# one value per field, none equal to its default, in field order
SAMPLES: dict[type, dict[str, Any]] = {
    OrderRequest: dict(
        client_id="c-9", symbol="BTC/USDT", side=SELL, type=LIMIT, amount=Decimal("0.3"),
        price=Decimal(100), stop_price=Decimal(90), purpose=STOP_LOSS, created_ms=5, strategy="s",
        reduce_only=True, trail=Decimal("0.02"), expire_ms=99,
    ),
    Fill: dict(
        fill_id="f-2", client_id="c-2", symbol="BTC/USDT", side=BUY, amount=Decimal(1), price=Decimal(2),
        fee=Decimal(3), fee_currency="BTC", ts=11, is_maker=True,
    ),
    Order: dict(
        request=REQ, status=OrderStatus.OPEN, venue_id="v-1", filled=Decimal(1), avg_price=Decimal(2),
        fees=Decimal(3), updated_ms=4, reason="why", fills=[FILL],
    ),
    CandleClosed: dict(symbol="ETH/USDT", timeframe="5m", candle=Candle(0, 1.0, 2.0, 0.5, 1.5, 10.0)),
    OrderUpdate: dict(
        client_id="c-3", status=OrderStatus.FILLED, ts=12, venue_id="v-2", filled=Decimal(4),
        avg_price=Decimal(5), reason="done",
    ),
    Decision: dict(
        ts=1, symbol="ETH/USDT", direction=1, confidence=0.5, price=10.0, stop=9.0, take=12.0,
        reasons=("why",), strategy_votes=(("ema_cross", 1, 0.7),),
    ),
    Rejection: dict(ts=3, symbol="ETH/USDT", reason="no", details={"a": "b"}, code="max_positions"),
    Interest: dict(every=True, low_at_or_below=1.0, high_at_or_above=2.0, signals=frozenset({1})),
    LedgerEntry: dict(
        ts=4, currency="USDT", delta=Decimal(-1), kind=EntryKind.FEE, symbol="ETH/USDT", client_id="c-4",
        fill_id="f-4", note="n",
    ),
    Position: dict(
        symbol="ETH/USDT", base="ETH", quote="USDT", amount=Decimal(1), cost=Decimal(2),
        realized_pnl=Decimal(3), fees=Decimal(4), opened_ms=5,
    ),
    recorder._Open: dict(
        symbol="ETH/USDT", strategy="s", entry_ms=1, bought=Decimal(1), cost=Decimal(2), sold=Decimal(3),
        proceeds=Decimal(4), fees=Decimal(5), last_exit_ms=6, reasons=["r"],
    ),
}


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_hand_written_init_matches_the_fields(cls: type) -> None:
    assert "__init__" in cls.__dict__ and not cls.__dataclass_params__.init  # type: ignore[attr-defined]
    sample = SAMPLES[cls]
    names = [f.name for f in fields(cls)]
    assert list(sample) == names, "the sample lists every field, in field order"

    by_keyword = cls(**sample)
    by_position = cls(*sample.values())
    for name, value in sample.items():
        assert getattr(by_keyword, name) == value, name
        assert getattr(by_position, name) == value, name

    required = {f.name: sample[f.name] for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING}
    minimal, other = cls(**required), cls(**required)
    for f in fields(cls):
        if f.name in required:
            continue
        got = getattr(minimal, f.name)
        if f.default_factory is not MISSING:
            assert got == f.default_factory(), f.name
            if isinstance(got, list | dict):
                assert got is not getattr(other, f.name), f"{f.name}: one mutable default shared"
        else:
            assert _same(got, f.default), f.name


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_copy_deepcopy_and_pickle(cls: type) -> None:
    original = cls(**SAMPLES[cls])
    shallow, deep = copy.copy(original), copy.deepcopy(original)
    again = pickle.loads(pickle.dumps(original))
    for other in (shallow, deep, again):
        assert type(other) is cls and other is not original
        for f in fields(cls):
            assert getattr(other, f.name) == getattr(original, f.name), f.name
    for f in fields(cls):  # a shallow copy shares the mutable values, a deep one does not
        if isinstance(getattr(original, f.name), list | dict):
            assert getattr(shallow, f.name) is getattr(original, f.name), f.name
            assert getattr(deep, f.name) is not getattr(original, f.name), f.name
