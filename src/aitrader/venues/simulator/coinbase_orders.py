"""Placing and cancelling Coinbase orders on the shared matching engine.

Supported `order_configuration`s: `market_market_ioc` (base_size, or quote_size: what ccxt sends
for market buys) and `limit_limit_gtc` (base_size, limit_price, post_only); anything else is refused
with UNSUPPORTED_ORDER_CONFIGURATION. Fills follow the engine's rules (market orders at the next
candle open, limits when traded through), so a Coinbase run and a Kraken run of the same strategy
fill alike. A quote-sized market order is booked as the base amount the quote buys at the price
when it is placed (fee included for buys); it fills at the next open, so its cost can differ from
quote_size by the move in between. A repeated `client_order_id` returns the first order (Coinbase's
idempotency): a retry after a lost reply never places a second one.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aitrader.venues.simulator.coinbase_format import OrderMeta, uid
from aitrader.venues.simulator.coinbase_market import CoinbaseError
from aitrader.venues.simulator.engine import SimOrder, VenueError

if TYPE_CHECKING:
    from aitrader.venues.simulator.coinbase import CoinbaseSimulator

ZERO = Decimal(0)

# engine refusal -> (error, message, preview_failure_reason); ccxt maps the last to its exceptions
_REFUSALS: dict[str, tuple[str, str, str]] = {
    "EOrder:Insufficient funds": (
        "INSUFFICIENT_FUND", "Insufficient balance in source account", "PREVIEW_INSUFFICIENT_FUND"
    ),
    "EOrder:Order minimum not met": (
        "INVALID_SIZE", "base size is below the minimum", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"
    ),
    "EGeneral:Invalid arguments:volume": (
        "INVALID_SIZE_PRECISION", "Invalid order size precision", "PREVIEW_INVALID_SIZE_PRECISION"
    ),
    "EGeneral:Invalid arguments:price": (
        "INVALID_PRICE_PRECISION", "Invalid price precision", "PREVIEW_INVALID_PRICE_PRECISION"
    ),
    "EService:Market in cancel_only mode": (
        "ORDER_ENTRY_DISABLED", "Trading is disabled for this product", "UNKNOWN_PREVIEW_FAILURE_REASON"
    ),
}  # fmt: skip


def failure(conf: Any, error: str, message: str, preview: str) -> dict[str, Any]:
    """Coinbase's refusal of an order: HTTP 200, success false, the reason in error_response."""
    return {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": error,
            "message": message,
            "error_details": message,
            "preview_failure_reason": preview,
            "new_order_failure_reason": error,
        },
        "order_configuration": conf,
    }


def _positive(spec: dict[str, Any], name: str) -> Decimal:
    try:
        value = Decimal(str(spec[name]))
    except (KeyError, InvalidOperation):
        raise CoinbaseError(400, "INVALID_ARGUMENT", f"{name} is required and must be a decimal") from None
    if not value.is_finite() or value <= 0:
        raise CoinbaseError(400, "INVALID_ARGUMENT", f"{name} must be positive")
    return value


def place(
    sim: CoinbaseSimulator, key: str, body: dict[str, Any], now: int
) -> tuple[SimOrder, bool] | dict[str, Any]:
    """(order, created) or a failure body. Call with the engine lock held."""
    engine = sim.engine
    engine.sync(now)
    cid = body.get("client_order_id")
    if not isinstance(cid, str) or not cid:
        raise CoinbaseError(400, "INVALID_ARGUMENT", "client_order_id is required")
    existing = engine.by_client_id(key, cid, 0)
    if existing is not None:
        return existing, False
    product = sim.products_by_id.get(str(body.get("product_id")))
    if product is None:
        raise CoinbaseError(400, "INVALID_ARGUMENT", "valid product_id is required")
    side = str(body.get("side", "")).upper()
    if side not in ("BUY", "SELL"):
        raise CoinbaseError(400, "INVALID_ARGUMENT", "side must be BUY or SELL")
    conf = body.get("order_configuration")
    if not isinstance(conf, dict) or len(conf) != 1 or not isinstance(next(iter(conf.values())), dict):
        raise CoinbaseError(400, "INVALID_ARGUMENT", "exactly one order_configuration is required")
    kind, spec = next(iter(conf.items()))
    ref = engine.series[product.symbol].price_at(now)
    lot = Decimal(1).scaleb(-product.pair.lot_decimals)
    price: Decimal | None = None
    size_in_quote = False
    if kind == "market_market_ioc":
        ordertype, tif = "market", "IMMEDIATE_OR_CANCEL"
        if "quote_size" in spec and "base_size" not in spec:
            quote = _positive(spec, "quote_size")
            if ref is None:
                return failure(conf, *_REFUSALS["EService:Market in cancel_only mode"])
            per_unit = ref * (1 + engine.taker_fee) if side == "BUY" else ref
            size = (quote / per_unit).quantize(lot, rounding=ROUND_DOWN)
            size_in_quote = True
        else:
            size = _positive(spec, "base_size")
    elif kind == "limit_limit_gtc":
        ordertype, tif = "limit", "GOOD_UNTIL_CANCELLED"
        size, price = _positive(spec, "base_size"), _positive(spec, "limit_price")
        if (
            spec.get("post_only") is True
            and ref is not None
            and (price >= ref if side == "BUY" else price <= ref)
        ):
            return failure(
                conf, "INVALID_LIMIT_PRICE_POST_ONLY", "Post only order would cross the book",
                "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
            )  # fmt: skip
    else:
        message = f"{kind} is not supported by the simulator"
        return failure(conf, "UNSUPPORTED_ORDER_CONFIGURATION", message, "UNSUPPORTED_ORDER_CONFIGURATION")
    try:
        order, created = engine.add_order(
            key,
            product.product_id,
            side.lower(),
            ordertype,
            f"{size:f}",
            None if price is None else f"{price:f}",
            cl_ord_id=cid,
            now_ms=now,
        )
    except VenueError as e:
        error, message, preview = _REFUSALS.get(e.code, ("UNKNOWN_FAILURE_REASON", e.code, "UNKNOWN"))
        return failure(conf, error, message, preview)
    if created:
        sim.order_meta[order.txid] = OrderMeta(conf, tif, size_in_quote)
        sim.order_ids[uid("order", order.txid)] = order.txid
    return order, created


def accepted(sim: CoinbaseSimulator, o: SimOrder) -> dict[str, Any]:
    """The success reply of `POST /orders` (also to a retry with the same client_order_id)."""
    oid = uid("order", o.txid)
    return {
        "success": True,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": oid,
        "success_response": {
            "order_id": oid,
            "product_id": o.pair.id,
            "side": o.side.upper(),
            "client_order_id": o.cl_ord_id or "",
        },
        "order_configuration": sim.order_meta[o.txid].order_configuration,
    }


def own_order(sim: CoinbaseSimulator, key: str, order_id: str) -> SimOrder | None:
    o = sim.engine.orders.get(sim.order_ids.get(order_id, ""))
    return o if o is not None and o.api_key == key else None


def batch_cancel(sim: CoinbaseSimulator, key: str, body: dict[str, Any], now: int) -> dict[str, Any]:
    """Cancel each order id; one result per id, success false for unknown or finished orders."""
    ids = body.get("order_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise CoinbaseError(400, "INVALID_ARGUMENT", "order_ids is required")
    sim.engine.sync(now)
    results = []
    for oid in ids:
        o = own_order(sim, key, oid)
        if o is None:
            results.append({"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": oid})
            continue
        if not o.active:
            results.append({"success": False, "failure_reason": "INVALID_CANCEL_REQUEST", "order_id": oid})
            continue
        sim.engine.cancel(key, o.txid, now_ms=now)
        results.append({"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": oid})
    sim.market_changed()
    return {"results": results}
