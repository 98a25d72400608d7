"""Money is exact on both backends: what goes in is what comes out, or the write is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError
from storage_helpers import make_order

from aitrader.storage.repository import tenant_scope
from aitrader.storage.types import MoneyRangeError, check_money

EDGE_VALUES = [
    "0",
    "0.1",
    "0.000000000000000001",
    "-0.000000000000000001",
    "99999999999999999999.999999999999999999",
    "-99999999999999999999.999999999999999999",
    "1E+3",
    "12345678901234567890",
    "1.10",
    "3.14159265358979323846264338327950288"[:20],
]


def test_edge_values_round_trip_exactly(migrated: Engine) -> None:
    with tenant_scope(migrated, "t1", create_tenant=True) as ts:
        for i, v in enumerate(EDGE_VALUES):
            ts.upsert_order(make_order(f"o{i}", amount=v))
    with tenant_scope(migrated, "t1") as ts:
        for i, v in enumerate(EDGE_VALUES):
            row = ts.get_order(f"o{i}")
            assert row is not None
            assert row.amount == Decimal(v), (v, row.amount)
            assert isinstance(row.amount, Decimal)


def test_sqlite_stores_text_and_postgres_numeric(migrated: Engine) -> None:
    """Guards against a silent fallback to float storage (SQLite NUMERIC affinity would round 0.1)."""
    with tenant_scope(migrated, "t1", create_tenant=True) as ts:
        ts.upsert_order(make_order("o", amount="0.1"))
    with migrated.connect() as conn:
        kind = conn.execute(
            text("select typeof(amount) from orders")
            if migrated.dialect.name == "sqlite"
            else text("select pg_typeof(amount)::text from orders")
        ).scalar_one()
    assert kind == ("text" if migrated.dialect.name == "sqlite" else "numeric")


@pytest.mark.parametrize("bad", ["0.0000000000000000001", "123456789012345678901", "NaN", "Infinity"])
def test_values_that_cannot_be_exact_are_refused(migrated: Engine, bad: str) -> None:
    with pytest.raises(StatementError) as info, tenant_scope(migrated, "t1", create_tenant=True) as ts:
        ts.upsert_order(make_order("o", amount=bad))
    assert isinstance(info.value.orig, MoneyRangeError)


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=18, min_value=-(10**19), max_value=10**19))
def test_check_money_accepts_the_whole_domain(value: Decimal) -> None:
    assert check_money(value) == value


def test_trailing_zero_padding_beyond_scale_is_accepted() -> None:
    assert check_money(Decimal("1.50000000000000000000000")) == Decimal("1.5")


def test_random_values_round_trip(migrated: Engine) -> None:
    import random

    rnd = random.Random(7)
    values = [Decimal(rnd.randint(-(10**38) + 1, 10**38 - 1)).scaleb(-18) for _ in range(200)]
    with tenant_scope(migrated, "t1", create_tenant=True) as ts:
        for i, v in enumerate(values):
            ts.upsert_order(make_order(f"r{i}", amount=str(v)))
    with tenant_scope(migrated, "t1") as ts:
        got = {r.client_id: r.amount for r in ts.list_orders(limit=1000)}
    assert all(got[f"r{i}"] == v for i, v in enumerate(values))
