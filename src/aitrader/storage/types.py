"""Column types for money and time that keep values exact on SQLite and PostgreSQL alike.

Money (`Money`): PostgreSQL stores `NUMERIC(38, 18)` (exact, and SUM/ORDER BY work in SQL). SQLite has
no exact decimal storage: its NUMERIC affinity silently turns `0.1` into a binary float. So on SQLite
the value is stored as canonical decimal text in a VARCHAR column (TEXT affinity, never converted).
Both backends accept the same domain: at most 20 integer digits and 18 fractional digits. A value
outside it raises instead of being rounded, so what is read back always equals what was written
(`Decimal` equality; PostgreSQL pads the scale, e.g. `1.5` reads back as `1.500000000000000000`).

Time is not a type here: every timestamp column is a plain `BigInteger` of epoch ms UTC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Integer, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 38
MONEY_SCALE = 18
_MAX_INT_DIGITS = MONEY_PRECISION - MONEY_SCALE

# Autoincrement surrogate keys: BIGINT on PostgreSQL, but SQLite only auto-assigns `INTEGER PRIMARY KEY`.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class MoneyRangeError(ValueError):
    """A Decimal that the money columns cannot hold exactly (NaN, infinity, too many digits)."""


def check_money(value: Decimal | int) -> Decimal:
    """Return `value` when the money columns can hold it exactly; raise MoneyRangeError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)  # integers are exact; floats are not and are refused
    if not isinstance(value, Decimal):
        raise MoneyRangeError(f"money must be a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise MoneyRangeError(f"money must be finite, got {value}")
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite checked above
    if exponent < -MONEY_SCALE:
        # trailing zeros beyond the scale are harmless: 1.50000000000000000000 == 1.5
        stripped = value.normalize()
        e2 = stripped.as_tuple().exponent
        assert isinstance(e2, int)
        if e2 < -MONEY_SCALE and stripped != 0:
            raise MoneyRangeError(f"money {value} has more than {MONEY_SCALE} decimal places")
    int_digits = len(digits) + exponent
    if int_digits > _MAX_INT_DIGITS:
        raise MoneyRangeError(f"money {value} has more than {_MAX_INT_DIGITS} integer digits")
    return value


def _to_text(value: Decimal) -> str:
    """Plain (never scientific) decimal text: Decimal('1E+3') -> '1000', Decimal('1E-7') -> '0.0000001'."""
    return format(value, "f")


class Money(TypeDecorator[Decimal]):
    """Exact Decimal column: NUMERIC(38,18) on PostgreSQL, decimal text on SQLite (see module doc)."""

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = check_money(value)
        if dialect.name == "sqlite":
            return _to_text(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value))
