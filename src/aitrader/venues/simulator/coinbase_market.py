"""Coinbase market data over the replay: products, candles, ticker trades, books, time, currencies.

Pure functions of (simulator, query, replay time) -> JSON body; the same ones serve the public
`/api/v3/brokerage/market/*` routes and their authenticated twins (`/api/v3/brokerage/products...`).
Refusals raise `CoinbaseError`, which the REST layer renders as Coinbase does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from multidict import MultiMapping

from aitrader.venues.simulator import kraken_format as kf
from aitrader.venues.simulator.book import fmt, synthetic_book
from aitrader.venues.simulator.coinbase_format import GRANULARITIES, candle, num, product_info, uid
from aitrader.venues.simulator.coinbase_products import FIAT, NAMES, CoinbaseProduct

if TYPE_CHECKING:
    from aitrader.venues.simulator.coinbase import CoinbaseSimulator

Query = MultiMapping[str]
MAX_CANDLES = 350  # Coinbase refuses a candles request spanning more than this many


class CoinbaseError(Exception):
    """A refusal: HTTP status, Coinbase's error code (INVALID_ARGUMENT, NOT_FOUND...) and message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_details": self.message, "message": self.message}


def _int(query: Query, name: str, default: int | None = None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise CoinbaseError(400, "INVALID_ARGUMENT", f"{name} is required")
        return default
    try:
        return int(raw)
    except ValueError:
        raise CoinbaseError(400, "INVALID_ARGUMENT", f"invalid {name}: {raw!r}") from None


def product(sim: CoinbaseSimulator, product_id: str) -> CoinbaseProduct:
    p = sim.products_by_id.get(product_id)
    if p is None:
        raise CoinbaseError(404, "NOT_FOUND", f"product {product_id} not found")
    return p


def products(sim: CoinbaseSimulator, query: Query, now: int) -> dict[str, Any]:
    if query.get("product_type", "SPOT") not in ("SPOT", "UNKNOWN_PRODUCT_TYPE"):
        return {"products": [], "num_products": 0}  # no futures in the replay
    wanted = query.getall("product_ids", [])
    sel = [product(sim, w) for w in wanted] if wanted else list(sim.products_by_id.values())
    rows = [product_info(p, sim.engine.series[p.symbol], now) for p in sel]
    return {"products": rows, "num_products": len(rows)}


def one_product(sim: CoinbaseSimulator, product_id: str, now: int) -> dict[str, Any]:
    p = product(sim, product_id)
    return product_info(p, sim.engine.series[p.symbol], now)


def candles(sim: CoinbaseSimulator, product_id: str, query: Query, now: int) -> dict[str, Any]:
    """Candles with start in [start, end] (seconds), newest first, at most 350 per request."""
    p = product(sim, product_id)
    series = sim.engine.series[p.symbol]
    gran = GRANULARITIES.get(query.get("granularity", ""))
    if gran is None:
        raise CoinbaseError(
            400, "INVALID_ARGUMENT", "granularity is required and must be a valid granularity"
        )
    if gran * 1000 != series.tf_ms:
        # the replay serves its candles at their own timeframe only (no resampling)
        raise CoinbaseError(400, "INVALID_ARGUMENT", f"granularity {query['granularity']} is not available")
    start, end = _int(query, "start"), _int(query, "end")
    if end < start:
        raise CoinbaseError(400, "INVALID_ARGUMENT", "start must be before end")
    if (end - start) // gran > MAX_CANDLES:
        raise CoinbaseError(
            400, "INVALID_ARGUMENT", f"number of candles requested should be less than {MAX_CANDLES}"
        )
    limit = min(_int(query, "limit", MAX_CANDLES), MAX_CANDLES)
    lo = series.first_after(start * 1000 - 1)
    hi = min(series.first_after(end * 1000), series.started(now))
    rows = [candle(series, i, now) for i in range(lo, hi)]
    return {"candles": rows[::-1][:limit]}


def _book(sim: CoinbaseSimulator, p: CoinbaseProduct, now: int, depth: int) -> tuple[list[Any], list[Any]]:
    series = sim.engine.series[p.symbol]
    mid = series.price_at(now)
    if mid is None:
        return [], []
    asks, bids = synthetic_book(p.book_pair, mid, series.started(now), depth=depth)
    pd, ld = p.pair.pair_decimals, p.pair.lot_decimals

    def side(levels: list[tuple[Decimal, Decimal]]) -> list[dict[str, str]]:
        return [{"price": fmt(px, pd), "size": fmt(q, ld)} for px, q in levels]

    return side(asks), side(bids)


def ticker(sim: CoinbaseSimulator, product_id: str, query: Query, now: int) -> dict[str, Any]:
    """Recent public trades (synthetic, from closed candles), newest first, with the best bid/ask."""
    p = product(sim, product_id)
    series = sim.engine.series[p.symbol]
    limit = min(max(_int(query, "limit", 100), 1), 1000)
    end_ms = min(now, _int(query, "end", now // 1000) * 1000)
    since_ms = _int(query, "start", 0) * 1000 or max(0, end_ms - series.tf_ms * (limit // 4 + 2))
    trades = [t for t in kf.public_trades(series, since_ms // 1000, 100_000, now) if t[2] * 1000 <= end_ms]
    out = [
        {
            "trade_id": str(t[6]),
            "product_id": p.product_id,
            "price": t[0],
            "size": t[1],
            "time": kf.iso(int(t[2] * 1000)),
            "side": "BUY" if t[3] == "b" else "SELL",
            "bid": "",
            "ask": "",
        }
        for t in reversed(trades[-limit:])
    ]
    asks, bids = _book(sim, p, now, 1)
    return {
        "trades": out,
        "best_bid": bids[0]["price"] if bids else "",
        "best_ask": asks[0]["price"] if asks else "",
    }


def product_book(sim: CoinbaseSimulator, query: Query, now: int) -> dict[str, Any]:
    p = product(sim, query.get("product_id", ""))
    depth = min(max(_int(query, "limit", 50), 1), 500)
    asks, bids = _book(sim, p, now, depth)
    body: dict[str, Any] = {
        "pricebook": {"product_id": p.product_id, "bids": bids, "asks": asks, "time": kf.iso(now)}
    }
    if asks and bids:
        ask, bid = Decimal(asks[0]["price"]), Decimal(bids[0]["price"])
        mid = (ask + bid) / 2
        body["last"] = fmt(sim.engine.series[p.symbol].price_at(now) or mid, p.pair.pair_decimals)
        body["mid_market"] = num(mid)
        body["spread_bps"] = num(((ask - bid) / mid * 10_000).quantize(Decimal("1E-10")))
        body["spread_absolute"] = num(ask - bid)
    return body


def best_bid_ask(sim: CoinbaseSimulator, query: Query, now: int) -> dict[str, Any]:
    wanted = query.getall("product_ids", [])
    sel = [product(sim, w) for w in wanted] if wanted else list(sim.products_by_id.values())
    out = []
    for p in sel:
        asks, bids = _book(sim, p, now, 1)
        out.append({"product_id": p.product_id, "bids": bids, "asks": asks, "time": kf.iso(now)})
    return {"pricebooks": out}


def time_v3(now: int) -> dict[str, Any]:
    return {"iso": kf.iso(now), "epochSeconds": str(now // 1000), "epochMillis": str(now)}


def time_v2(now: int) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(now // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"data": {"iso": stamp, "epoch": now // 1000}}


def _codes(sim: CoinbaseSimulator) -> list[str]:
    return sorted({c for p in sim.products_by_id.values() for c in (p.pair.base.code, p.pair.quote.code)})


def currencies_fiat(sim: CoinbaseSimulator) -> dict[str, Any]:
    rows = [{"id": c, "name": NAMES.get(c, c), "min_size": "0.01"} for c in _codes(sim) if c in FIAT]
    return {"data": rows}


def currencies_crypto(sim: CoinbaseSimulator) -> dict[str, Any]:
    rows = [
        {
            "asset_id": uid("asset", c),
            "code": c,
            "name": NAMES.get(c, c),
            "color": "#0052FF",
            "sort_index": str(i),
            "exponent": 8,
            "type": "crypto",
            "address_regex": "^.+$",
        }
        for i, c in enumerate(c for c in _codes(sim) if c not in FIAT)
    ]
    return {"data": rows}


def exchange_rates(sim: CoinbaseSimulator, query: Query, now: int) -> dict[str, Any]:
    """Units of each currency per one `currency` (USD by default), from directly quoted pairs."""
    base = query.get("currency", "USD").upper()
    rates: dict[str, str] = {base: "1"}
    for p in sim.products_by_id.values():
        px = sim.engine.series[p.symbol].price_at(now)
        if not px:
            continue
        b, q = p.pair.base.code, p.pair.quote.code
        if q == base:
            rates.setdefault(b, num((1 / px).quantize(Decimal("1E-12"))))
        elif b == base:
            rates.setdefault(q, num(px))
    return {"data": {"currency": base, "rates": rates}}
