"""Candle floats -> Decimal money, the one way the engine, venue and risk convert them.

`dec(x)` is `Decimal(repr(x))`: the shortest text that round-trips the float, so 0.1 stays 0.1.

Why a memo: a backtest converts the same prices again and again. A candle's close becomes the mark
of an open position, then (as the next candle's open, which most exchanges print at the previous
close) the fill price of the market order placed on it, and the reference price a buy is checked
at. Conversion (repr + parse) costs about 0.4 us, a lookup a tenth of that. The memo is bounded
(cleared when full) and holds immutable values, so results never depend on what it holds; zeros
(0.0 and -0.0 are one key but two Decimals) and NaN (never equal to itself) are not kept.
`dec_once` converts without the memo, for values that rarely repeat (volumes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

MEMO_MAX: Final = 1 << 16
_memo: Final[dict[float, Decimal]] = {}


def dec(x: float) -> Decimal:
    f = float(x)
    got = _memo.get(f)
    if got is not None:
        return got
    d = Decimal(repr(f))
    if f == f and f != 0.0:
        if len(_memo) >= MEMO_MAX:
            _memo.clear()
        _memo[f] = d
    return d


def dec_once(x: float) -> Decimal:
    return Decimal(repr(float(x)))
