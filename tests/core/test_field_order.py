"""The hot paths build these records with positional arguments (keywords cost ~40 ns each per fill,
order and decision): `venues.simulated` (Fill, OrderUpdate), `risk.orders` (OrderRequest) and
`engine.decisions` (Decision). A reordered or inserted field would then fill the wrong slot silently
(price and stop_price are both optional Decimals), so the order those callers rely on is pinned here:
change a record's fields and this fails until the positional calls are checked too."""

from __future__ import annotations

from dataclasses import MISSING, fields

import pytest

from aitrader.core.decisions import Decision
from aitrader.core.orders import Fill, OrderRequest
from aitrader.core.ports import OrderUpdate

EXPECTED = {
    Fill: [
        "fill_id", "client_id", "symbol", "side", "amount", "price", "fee", "fee_currency", "ts", "is_maker",
    ],
    OrderUpdate: ["client_id", "status", "ts", "venue_id", "filled", "avg_price", "reason"],
    OrderRequest: [
        "client_id", "symbol", "side", "type", "amount", "price", "stop_price", "purpose", "created_ms",
        "strategy", "reduce_only", "trail",
    ],
    Decision: [
        "ts", "symbol", "direction", "confidence", "price", "stop", "take", "reasons", "strategy_votes",
    ],
}


@pytest.mark.parametrize("record", list(EXPECTED), ids=lambda r: r.__name__)
def test_positional_callers_field_order(record: type) -> None:
    names = [f.name for f in fields(record)]
    want = EXPECTED[record]
    assert names[: len(want)] == want
    # fields after the pinned ones must have defaults (the positional calls do not pass them)
    rest = [f.name for f in fields(record)[len(want):] if f.init and f.default is MISSING
            and f.default_factory is MISSING]
    assert rest == []
