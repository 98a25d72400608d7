"""Coinbase Advanced Trade REST (`/api/v3/brokerage/*`) and the `/v2` calls ccxt makes, over the replay.

Public market data needs no key; everything else needs a valid CDP JWT (coinbase_auth) or gets
401 "Unauthorized". Errors use Coinbase's shapes: `{"error", "error_details", "message"}` with a
4xx status, and for order placement HTTP 200 with `success: false` and an `error_response`, which
is what ccxt maps to its exceptions. Faults (429, 5xx, delays, timeouts after accept) apply here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from aitrader.venues.simulator import coinbase_market as cm
from aitrader.venues.simulator import coinbase_orders as co
from aitrader.venues.simulator.coinbase_auth import AuthError
from aitrader.venues.simulator.coinbase_format import account_v2, account_v3, fill_info, num, order_info
from aitrader.venues.simulator.coinbase_market import CoinbaseError, Query
from aitrader.venues.simulator.engine import SimOrder
from aitrader.venues.simulator.rest_faults import rest_fault, timeout_after_accept

if TYPE_CHECKING:
    from aitrader.venues.simulator.coinbase import CoinbaseSimulator

V3 = "/api/v3/brokerage"
Handler = Callable[[web.Request, str, int], dict[str, Any]]  # (request, api key, now) -> body


def _unauthorized() -> web.Response:
    return web.Response(status=401, text="Unauthorized\n", content_type="text/plain")


def _rate_limited() -> web.Response:
    body = {"errors": [{"id": "rate_limit_exceeded", "message": "Too many requests"}]}
    return web.json_response(body, status=429)


def _ms(text: str | None) -> int | None:
    """RFC 3339 ("2018-01-11T00:00:00.000Z") -> epoch ms; None when absent."""
    if not text:
        return None
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise CoinbaseError(400, "INVALID_ARGUMENT", f"invalid timestamp {text!r}") from None


def _page(items: list[Any], query: Query, default: int, most: int) -> tuple[list[Any], str, bool]:
    """Offset-cursor paging as Coinbase's `limit`/`cursor`/`has_next`."""
    try:
        start = int(query.get("cursor") or 0)
        limit = min(max(int(query.get("limit") or default), 1), most)
    except ValueError:
        raise CoinbaseError(400, "INVALID_ARGUMENT", "invalid limit or cursor") from None
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, str(start + limit) if more else "", more


class CoinbaseRest:
    def __init__(self, sim: CoinbaseSimulator) -> None:
        self.sim = sim
        self.engine = sim.engine

    def routes(self) -> list[web.RouteDef]:
        pub, priv = self._public, self._private
        market = {
            "products": lambda r, k, n: cm.products(self.sim, r.query, n),
            "products/{product_id}": lambda r, k, n: cm.one_product(self.sim, r.match_info["product_id"], n),
            "products/{product_id}/candles": lambda r, k, n: cm.candles(
                self.sim, r.match_info["product_id"], r.query, n
            ),
            "products/{product_id}/ticker": lambda r, k, n: cm.ticker(
                self.sim, r.match_info["product_id"], r.query, n
            ),
            "product_book": lambda r, k, n: cm.product_book(self.sim, r.query, n),
        }
        routes = [web.get(f"{V3}/market/{path}", pub(h)) for path, h in market.items()]
        routes += [web.get(f"{V3}/{path}", priv(h)) for path, h in market.items()]
        routes += [
            web.get(f"{V3}/time", pub(lambda r, k, n: cm.time_v3(n))),
            web.get("/v2/time", pub(lambda r, k, n: cm.time_v2(n))),
            web.get("/v2/currencies", pub(lambda r, k, n: cm.currencies_fiat(self.sim))),
            web.get("/v2/currencies/crypto", pub(lambda r, k, n: cm.currencies_crypto(self.sim))),
            web.get("/v2/exchange-rates", pub(lambda r, k, n: cm.exchange_rates(self.sim, r.query, n))),
            web.get(f"{V3}/best_bid_ask", priv(lambda r, k, n: cm.best_bid_ask(self.sim, r.query, n))),
            web.get(f"{V3}/transaction_summary", priv(self._transaction_summary)),
            web.get(f"{V3}/accounts", priv(self._accounts)),
            web.get("/v2/accounts", priv(self._accounts_v2)),
            web.get(f"{V3}/orders/historical/batch", priv(self._list_orders)),
            web.get(f"{V3}/orders/historical/fills", priv(self._fills)),
            web.get(f"{V3}/orders/historical/{{order_id}}", priv(self._get_order)),
            web.post(f"{V3}/orders/batch_cancel", self._guarded(self._batch_cancel, private=True)),
            web.post(f"{V3}/orders", self._guarded(self._create_order, private=True)),
        ]
        return routes

    # --- plumbing -------------------------------------------------------------------------------
    def _public(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        return self._guarded(self._json(handler), private=False)

    def _private(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        return self._guarded(self._json(handler), private=True)

    def _json(self, handler: Handler) -> Callable[[web.Request, str, int], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request, key: str, now: int) -> web.StreamResponse:
            with self.engine.lock:  # the clock may be advanced from another thread
                return web.json_response(handler(request, key, now))

        return run

    def _guarded(
        self, inner: Callable[[web.Request, str, int], Awaitable[web.StreamResponse]], private: bool
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            self.sim.log_request("private" if private else "public", request.path, dict(request.query))
            faulted = await rest_fault(self.sim.faults, _rate_limited)
            if faulted is not None:
                return faulted
            key = ""
            if private:
                try:
                    key = self.sim.auth.verify(
                        request.headers.get("Authorization", ""), request.method, request.host, request.path
                    )
                except AuthError as e:
                    self.sim.auth_failures.append(str(e))
                    return _unauthorized()
                if key not in self.engine.accounts:
                    return _unauthorized()
            try:
                return await inner(request, key, self.sim.now())
            except CoinbaseError as e:
                return web.json_response(e.body(), status=e.status)

        return serve

    # --- accounts -------------------------------------------------------------------------------
    def _balances(self, key: str) -> list[tuple[str, Any, Any]]:
        acc = self.engine.accounts[key]
        holds = self.engine.holds(key)
        codes = set(acc.balances) | {
            c for p in self.sim.products_by_id.values() for c in (p.pair.base.code, p.pair.quote.code)
        }
        return [(c, acc.balances.get(c, 0), holds.get(c, 0)) for c in sorted(codes)]

    def _accounts(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        user = self.sim.user_id(key)
        rows = [account_v3(c, total, hold, user) for c, total, hold in self._balances(key)]
        page, cursor, more = _page(rows, request.query, 49, 250)
        return {"accounts": page, "has_next": more, "cursor": cursor, "size": len(page)}

    def _accounts_v2(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        user = self.sim.user_id(key)
        rows = [account_v2(c, total, user) for c, total, _hold in self._balances(key)]
        page, _cursor, _more = _page(rows, request.query, 25, 300)
        pagination = {"ending_before": None, "starting_after": None, "limit": len(page), "order": "desc",
                      "previous_uri": None, "next_uri": None, "next_starting_after": None}  # fmt: skip
        return {"data": page, "pagination": pagination}

    def _transaction_summary(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        own = [t for t in self.engine.trades.values() if t.api_key == key]
        volume, fees = sum((t.cost for t in own), start=co.ZERO), sum((t.fee for t in own), start=co.ZERO)
        return {
            "total_volume": float(volume),
            "total_fees": float(fees),
            "fee_tier": {
                "pricing_tier": "Advanced 1",
                "usd_from": "0",
                "usd_to": "1000",
                "taker_fee_rate": num(self.engine.taker_fee),
                "maker_fee_rate": num(self.engine.maker_fee),
                "aop_from": "",
                "aop_to": "",
            },
            "margin_rate": None,
            "goods_and_services_tax": None,
            "advanced_trade_only_volume": float(volume),
            "advanced_trade_only_fees": float(fees),
            "coinbase_pro_volume": 0,
            "coinbase_pro_fees": 0,
            "total_balance": "",
            "has_promo_fee": False,
        }

    # --- orders ---------------------------------------------------------------------------------
    async def _create_order(self, request: web.Request, key: str, now: int) -> web.StreamResponse:
        body = await self._read_json(request)
        with self.engine.lock:
            placed = co.place(self.sim, key, body, now)
        if isinstance(placed, dict):  # refused: Coinbase answers 200 with success false
            return web.json_response(placed)
        order, created = placed
        self.sim.market_changed()
        if created:
            await timeout_after_accept(self.sim.faults, self.sim.hang_s, request)
        return web.json_response(co.accepted(self.sim, order))

    def _order_info(self, o: SimOrder, user: str) -> dict[str, Any]:
        fills = [self.engine.trades[t] for t in o.trade_ids]
        return order_info(o, self.sim.order_meta[o.txid], user, fills)

    def _get_order(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        o = co.own_order(self.sim, key, request.match_info["order_id"])
        if o is None:
            message = "order with this orderID was not found"
            raise CoinbaseError(404, "NOT_FOUND", message)
        return {"order": self._order_info(o, self.sim.user_id(key))}

    def _list_orders(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        q = request.query
        statuses = set(q.getall("order_status", []))
        products = set(q.getall("product_ids", [])) | set(q.getall("product_id", []))
        sides = {s.upper() for s in q.getall("order_side", [])}
        start, end = _ms(q.get("start_date")), _ms(q.get("end_date"))
        user = self.sim.user_id(key)
        rows = []
        for o in sorted(self.engine.orders.values(), key=lambda o: o.opened_ms, reverse=True):
            if o.api_key != key or (products and o.pair.id not in products):
                continue
            if (start is not None and o.opened_ms < start) or (end is not None and o.opened_ms > end):
                continue
            info = self._order_info(o, user)
            if (statuses and info["status"] not in statuses) or (sides and info["side"] not in sides):
                continue
            rows.append(info)
        page, cursor, more = _page(rows, q, 100, 1000)
        return {"orders": page, "sequence": "0", "has_next": more, "cursor": cursor}

    def _fills(self, request: web.Request, key: str, now: int) -> dict[str, Any]:
        self.engine.sync(now)
        q = request.query
        order_ids = set(q.getall("order_ids", [])) | set(q.getall("order_id", []))
        products = set(q.getall("product_ids", [])) | set(q.getall("product_id", []))
        start, end = _ms(q.get("start_sequence_timestamp")), _ms(q.get("end_sequence_timestamp"))
        user = self.sim.user_id(key)
        rows = []
        for t in sorted(self.engine.trades.values(), key=lambda t: t.ts_ms, reverse=True):
            if t.api_key != key or (products and t.pair.id not in products):
                continue
            if (start is not None and t.ts_ms < start) or (end is not None and t.ts_ms > end):
                continue
            info = fill_info(t, user)
            if order_ids and info["order_id"] not in order_ids:
                continue
            rows.append(info)
        page, cursor, _more = _page(rows, q, 100, 1000)
        return {"fills": page, "cursor": cursor}

    async def _read_json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise CoinbaseError(400, "INVALID_ARGUMENT", "request body must be a JSON object")
        return body

    async def _batch_cancel(self, request: web.Request, key: str, now: int) -> web.StreamResponse:
        body = await self._read_json(request)
        with self.engine.lock:
            return web.json_response(co.batch_cancel(self.sim, key, body, now))
