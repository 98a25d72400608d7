"""Order, fill and position types. Money is `Decimal`, always; time is epoch ms."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from aitrader.core.records import reduce_fields


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is BUY else -1

    def opposite(self) -> Side:
        return SELL if self is BUY else BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"


class OrderStatus(StrEnum):
    """Order lifecycle: NEW -> OPEN -> PARTIALLY_FILLED -> FILLED | CANCELLED | REJECTED | EXPIRED."""

    NEW = "new"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


# `status in TERMINAL` is `status.is_terminal` without the property call (the engine's event path)
TERMINAL: Final[frozenset[OrderStatus]] = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

ALLOWED_TRANSITIONS: Final[dict[OrderStatus, frozenset[OrderStatus]]] = {
    OrderStatus.NEW: frozenset(
        {
            OrderStatus.OPEN,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.REJECTED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.OPEN: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


class OrderPurpose(StrEnum):
    """Why an order exists; exits are never mistaken for entries."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"


# The members again as plain module globals, for the per-event paths of the engine, venue and ledger:
# on Python 3.11 `Side.BUY` is looked up through EnumType's `__getattr__` hook (about 110 ns, against
# 20 ns for a global), and an event of a backtest reads a few dozen of them.
# `Final`: compiled (aitrader.native), each is a C static instead of a lookup in the module's dict.
BUY: Final = Side.BUY
SELL: Final = Side.SELL
MARKET: Final = OrderType.MARKET
LIMIT: Final = OrderType.LIMIT
STOP_MARKET: Final = OrderType.STOP_MARKET
NEW: Final = OrderStatus.NEW
OPEN: Final = OrderStatus.OPEN
PARTIALLY_FILLED: Final = OrderStatus.PARTIALLY_FILLED
FILLED: Final = OrderStatus.FILLED
CANCELLED: Final = OrderStatus.CANCELLED
REJECTED: Final = OrderStatus.REJECTED
EXPIRED: Final = OrderStatus.EXPIRED
ENTRY: Final = OrderPurpose.ENTRY
EXIT: Final = OrderPurpose.EXIT
STOP_LOSS: Final = OrderPurpose.STOP_LOSS
TAKE_PROFIT: Final = OrderPurpose.TAKE_PROFIT
TRAILING_STOP: Final = OrderPurpose.TRAILING_STOP


_ZERO: Final = Decimal(0)

# The hot dataclasses below write their own `__init__` (`init=False`): mypyc compiles a hand-written
# one, while the one `dataclass` generates stays interpreted (a tenth of a full-stack backtest went into
# those). The parameters are the fields, in order, with the same defaults (None for a field with a
# default factory: a new one each time); tests/core/test_inits.py checks that they stay so.
# `dataclass` still provides repr, eq, fields() and replace().


@dataclass(slots=True, init=False)
class OrderRequest:
    """What risk hands to execution: a sized, priced intent with our own client order id."""

    client_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    purpose: OrderPurpose = OrderPurpose.ENTRY
    created_ms: int = 0
    strategy: str = ""
    reduce_only: bool = False
    # trailing stop: fraction below the running high (sell) / above the running low (buy) for
    # STOP_MARKET orders; `stop_price` then is the starting level (None = derived by the venue).
    trail: Decimal | None = None
    # good till this epoch ms on the venue itself (None: good till cancelled). It protects a resting
    # order when this process is not there to cancel it; venues that cannot expire orders ignore it.
    expire_ms: int | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        client_id: str,
        symbol: str,
        side: Side,
        type: OrderType,
        amount: Decimal,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        purpose: OrderPurpose = OrderPurpose.ENTRY,
        created_ms: int = 0,
        strategy: str = "",
        reduce_only: bool = False,
        trail: Decimal | None = None,
        expire_ms: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.symbol = symbol
        self.side = side
        self.type = type
        self.amount = amount
        self.price = price
        self.stop_price = stop_price
        self.purpose = purpose
        self.created_ms = created_ms
        self.strategy = strategy
        self.reduce_only = reduce_only
        self.trail = trail
        self.expire_ms = expire_ms


@dataclass(slots=True, init=False)
class Fill:
    """One execution. `fee` is in `fee_currency` (the quote currency unless the venue says otherwise)."""

    fill_id: str
    client_id: str
    symbol: str
    side: Side
    amount: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts: int
    is_maker: bool = False

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        fill_id: str,
        client_id: str,
        symbol: str,
        side: Side,
        amount: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_currency: str,
        ts: int,
        is_maker: bool = False,
    ) -> None:
        self.fill_id = fill_id
        self.client_id = client_id
        self.symbol = symbol
        self.side = side
        self.amount = amount
        self.price = price
        self.fee = fee
        self.fee_currency = fee_currency
        self.ts = ts
        self.is_maker = is_maker


@dataclass(slots=True, init=False)
class Order:
    """An order as we track it; the venue id arrives with the acknowledgement."""

    request: OrderRequest
    status: OrderStatus = OrderStatus.NEW
    venue_id: str | None = None
    filled: Decimal = _ZERO
    avg_price: Decimal | None = None
    fees: Decimal = _ZERO
    updated_ms: int = 0
    reason: str = ""
    fills: list[Fill] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # copy, deepcopy, pickle: core.records
        return reduce_fields(self)

    def __init__(
        self,
        request: OrderRequest,
        status: OrderStatus = OrderStatus.NEW,
        venue_id: str | None = None,
        filled: Decimal = _ZERO,
        avg_price: Decimal | None = None,
        fees: Decimal = _ZERO,
        updated_ms: int = 0,
        reason: str = "",
        fills: list[Fill] | None = None,
    ) -> None:
        self.request = request
        self.status = status
        self.venue_id = venue_id
        self.filled = filled
        self.avg_price = avg_price
        self.fees = fees
        self.updated_ms = updated_ms
        self.reason = reason
        self.fills = [] if fills is None else fills

    @property
    def remaining(self) -> Decimal:
        return self.request.amount - self.filled
