"""Coinbase Advanced Trade's JSON spelling of our products, candles, orders, fills and accounts.

Field names, enums (BUY/SELL, OPEN/FILLED/CANCELLED, TAKER/MAKER), decimal strings and RFC 3339
times with microseconds follow recorded Coinbase responses (ccxt's static fixtures), so ccxt parses
our replies exactly as it parses Coinbase's. Ids are UUIDs derived from the engine's ids, so the
same run always yields the same ids.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aitrader.core.time import DAY_MS
from aitrader.venues.simulator.book import fmt
from aitrader.venues.simulator.coinbase_products import FIAT, NAMES, CoinbaseProduct
from aitrader.venues.simulator.engine import SimOrder, SimTrade
from aitrader.venues.simulator.kraken_format import forming_row, iso
from aitrader.venues.simulator.market_data import Series

_NS = uuid.UUID("6f1d7a52-3c0e-4b8e-9a51-2f7d8e9c0b14")
ZERO = Decimal(0)

# the Advanced Trade candle granularities, in seconds
GRANULARITIES: dict[str, int] = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "FOUR_HOUR": 14400,
    "SIX_HOUR": 21600,
    "ONE_DAY": 86400,
}

_STATUS = {
    "open": "OPEN",
    "pending": "PENDING",
    "closed": "FILLED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
}


def uid(kind: str, ident: str) -> str:
    """A stable UUID for an engine id ("order", "OABCDE-...") or an API key ("user", key)."""
    return str(uuid.uuid5(_NS, f"{kind}:{ident}"))


def num(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros ("0.392", "10", "0")."""
    text = f"{value.normalize():f}" if value else "0"
    return text


@dataclass(slots=True)
class OrderMeta:
    """What Coinbase echoes back but the engine does not keep: the request as placed."""

    order_configuration: dict[str, Any]
    time_in_force: str
    size_in_quote: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def product_info(p: CoinbaseProduct, series: Series, now_ms: int) -> dict[str, Any]:
    """A `products` entry, with price and 24 h stats from the replayed candles."""
    pair = p.pair
    price = series.price_at(now_ms)
    before = series.price_at(now_ms - DAY_MS)
    vol = ZERO
    for i in range(series.first_after(now_ms - DAY_MS - 1), series.started(now_ms)):
        vol += Decimal(forming_row(series, i, now_ms)[4])
    change = (price - before) / before * 100 if price is not None and before else ZERO
    base, quote = pair.base.code, pair.quote.code
    return {
        "product_id": p.product_id,
        "price": fmt(price, pair.pair_decimals) if price is not None else "",
        "price_percentage_change_24h": num(change.quantize(Decimal("1E-14"))),
        "volume_24h": num(vol),
        "volume_percentage_change_24h": "0",
        "base_increment": p.base_increment,
        "quote_increment": p.quote_increment,
        "quote_min_size": p.quote_min_size,
        "quote_max_size": p.quote_max_size,
        "base_min_size": p.base_min_size,
        "base_max_size": p.base_max_size,
        "base_name": NAMES.get(base, base),
        "quote_name": NAMES.get(quote, quote),
        "watched": False,
        "is_disabled": False,
        "new": False,
        "status": "online",
        "cancel_only": price is None,
        "limit_only": False,
        "post_only": False,
        "trading_disabled": False,
        "auction_mode": False,
        "product_type": "SPOT",
        "quote_currency_id": quote,
        "base_currency_id": base,
        "fcm_trading_session_details": None,
        "mid_market_price": "",
        "alias": "",
        "alias_to": [],
        "base_display_symbol": base,
        "quote_display_symbol": quote,
        "view_only": False,
        "price_increment": p.quote_increment,
        "display_name": p.product_id,
        "product_venue": "CBE",
        "approximate_quote_24h_volume": fmt(vol * (price or ZERO), 2),
        "new_at": "2023-01-01T00:00:00Z",
    }


def candle(series: Series, i: int, now_ms: int) -> dict[str, str]:
    """One `candles` entry; the forming candle shows only what has happened (its open)."""
    o, h, lo, c, v = forming_row(series, i, now_ms)
    return {"start": str(series.ts[i] // 1000), "low": lo, "high": h, "open": o, "close": c, "volume": v}


def order_info(o: SimOrder, meta: OrderMeta, user_id: str, fills: list[SimTrade]) -> dict[str, Any]:
    """A historical order (`orders/historical/{id}`, `orders/historical/batch`).

    `average_filled_price` is the exact size-weighted price of `fills` (the order's trades), not
    cost / size: cost is rounded to the quote currency's decimals, the fill prices are not.
    """
    pair = o.pair
    filled = sum((t.vol for t in fills), start=ZERO)
    avg = sum((t.price * t.vol for t in fills), start=ZERO) / filled if filled else ZERO
    filled_value = o.cost
    after_fees = filled_value + o.fee if o.side == "buy" else filled_value - o.fee
    last_fill = None
    if o.vol_exec > 0 and o.closed_ms is not None and o.status == "closed":
        last_fill = iso(o.closed_ms)
    pct = o.vol_exec / o.volume * 100 if o.volume else ZERO
    return {
        "order_id": uid("order", o.txid),
        "product_id": pair.id,
        "user_id": user_id,
        "order_configuration": meta.order_configuration,
        "side": o.side.upper(),
        "client_order_id": o.cl_ord_id or "",
        "status": _STATUS.get(o.status, "UNKNOWN_ORDER_STATUS"),
        "time_in_force": meta.time_in_force,
        "created_time": iso(o.opened_ms),
        "completion_percentage": f"{pct:.2f}",
        "filled_size": num(o.vol_exec),
        "average_filled_price": num(avg.quantize(Decimal(1).scaleb(-pair.pair_decimals - 4))),
        "fee": "",
        "number_of_fills": str(len(o.trade_ids)),
        "filled_value": num(filled_value),
        "pending_cancel": False,
        "size_in_quote": meta.size_in_quote,
        "total_fees": num(o.fee),
        "size_inclusive_of_fees": meta.size_in_quote,
        "total_value_after_fees": num(after_fees),
        "trigger_status": "INVALID_ORDER_TYPE",
        "order_type": o.ordertype.upper(),
        "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": not o.active,
        "product_type": "SPOT",
        "reject_message": "",
        "cancel_message": "User requested cancel" if o.status == "canceled" else "",
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": "0",
        "is_liquidation": False,
        "last_fill_time": last_fill,
        "edit_history": [],
        "leverage": "",
        "margin_type": "UNKNOWN_MARGIN_TYPE",
        "retail_portfolio_id": uid("portfolio", user_id),
    }


def fill_info(t: SimTrade, user_id: str) -> dict[str, Any]:
    """A fill (`orders/historical/fills`)."""
    ts = iso(t.ts_ms)
    return {
        "entry_id": hashlib.sha256(t.trade_id.encode()).hexdigest(),
        "trade_id": uid("trade", t.trade_id),
        "order_id": uid("order", t.order_id),
        "trade_time": ts,
        "trade_type": "FILL",
        "price": num(t.price),
        "size": num(t.vol),
        "commission": num(t.fee),
        "product_id": t.pair.id,
        "sequence_timestamp": ts,
        "liquidity_indicator": "MAKER" if t.maker else "TAKER",
        "size_in_quote": False,
        "user_id": user_id,
        "side": t.side.upper(),
        "retail_portfolio_id": uid("portfolio", user_id),
    }


def account_v3(code: str, total: Decimal, hold: Decimal, user_id: str) -> dict[str, Any]:
    """An Advanced Trade account (`/api/v3/brokerage/accounts`): one wallet per currency."""
    return {
        "uuid": uid("account", f"{user_id}:{code}"),
        "name": f"{code} Wallet",
        "currency": code,
        "available_balance": {"value": num(total - hold), "currency": code},
        "default": True,
        "active": True,
        "created_at": "2023-01-01T00:00:00.000Z",
        "updated_at": "2023-01-01T00:00:00.000Z",
        "deleted_at": None,
        "type": "ACCOUNT_TYPE_FIAT" if code in FIAT else "ACCOUNT_TYPE_CRYPTO",
        "ready": True,
        "hold": {"value": num(hold), "currency": code},
        "retail_portfolio_id": uid("portfolio", user_id),
        "platform": "ACCOUNT_PLATFORM_CONSUMER",
    }


def account_v2(code: str, total: Decimal, user_id: str) -> dict[str, Any]:
    """A Coinbase App account (`/v2/accounts`, what ccxt's fetch_balance reads by default)."""
    acc_id = uid("account", f"{user_id}:{code}")
    return {
        "id": acc_id,
        "name": f"{code} Wallet",
        "primary": True,
        "type": "fiat" if code in FIAT else "wallet",
        "balance": {"amount": fmt(total, 8), "currency": code},
        "created_at": "2023-01-01T00:00:00Z",
        "updated_at": "2023-01-01T00:00:00Z",
        "resource": "account",
        "resource_path": f"/v2/accounts/{acc_id}",
        "currency": {"code": code, "name": NAMES.get(code, code), "exponent": 2 if code in FIAT else 8},
        "allow_deposits": True,
        "allow_withdrawals": True,
    }
