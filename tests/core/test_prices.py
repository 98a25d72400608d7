"""core.prices.dec: Decimal(repr(x)) exactly, memo or not, and a memo that stays bounded."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from aitrader.core import prices
from aitrader.core.prices import dec, dec_once


def _same(a: Decimal, b: Decimal) -> bool:
    """Same value and same representation (exponent, sign of zero), or both NaN."""
    return (a.is_nan() and b.is_nan()) or a.as_tuple() == b.as_tuple()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_dec_is_the_shortest_round_trip_text(x: float) -> None:
    want = Decimal(repr(x))
    first, again = dec(x), dec(x)  # the second may come from the memo
    assert _same(first, want) and _same(again, want) and _same(dec_once(x), want)


def test_numpy_scalars_and_the_values_a_memo_could_confuse() -> None:
    assert dec(np.float64(0.1)) == Decimal("0.1") and str(dec(np.float64(0.1))) == "0.1"
    assert str(dec(1.0)) == "1.0"  # repr's exponent is kept: not Decimal("1")
    dec(0.0)
    assert str(dec(-0.0)) == "-0.0" and str(dec(0.0)) == "0.0"  # equal keys, different Decimals
    assert dec(math.nan).is_nan()
    assert 0.0 not in prices._memo and not any(k != k for k in prices._memo)


def test_memo_is_bounded() -> None:
    for i in range(prices.MEMO_MAX + 10):
        assert dec(i + 0.5) == Decimal(i) + Decimal("0.5")
    assert 0 < len(prices._memo) <= prices.MEMO_MAX
