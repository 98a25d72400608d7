"""Kraken's REST API (`/0/public/*`, `/0/private/*`) over the replayed market and matching engine.

Replies are HTTP 200 with `{"error": [...], "result": {...}}`, errors with Kraken's own codes, as
the exchange does; faults (429, 5xx, delays, timeouts after accept) are applied here.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal, InvalidOperation
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from aitrader.venues.simulator import kraken_format as kf
from aitrader.venues.simulator.book import fmt, synthetic_book
from aitrader.venues.simulator.engine import VenueError
from aitrader.venues.simulator.kraken_auth import signature_ok
from aitrader.venues.simulator.rest_faults import rest_fault, timeout_after_accept

if TYPE_CHECKING:
    from aitrader.venues.simulator.server import KrakenSimulator

MAX_OHLC_ROWS = 720
_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)


def ok(result: Any) -> web.Response:
    return web.json_response({"error": [], "result": result})


def err(code: str, status: int = 200) -> web.Response:
    return web.json_response({"error": [code]}, status=status)


def expiry_ms(params: dict[str, str], now: int) -> int | None:
    """AddOrder's expiry as epoch ms (None: good till cancelled), from `expiretm` and `timeinforce`.

    As Kraken: `expiretm` is `0` / absent (no expiry), `+<n>` (n seconds from now) or `<n>` (a unix
    time in seconds); `timeinforce` is GTC (default), IOC or GTD, and GTD needs an `expiretm`. An
    expiry that is not in the future is refused (the engine checks that against its clock).
    """
    tif = (params.get("timeinforce") or "GTC").upper()
    if tif not in ("GTC", "IOC", "GTD"):
        raise VenueError("EGeneral:Invalid arguments:timeinforce")
    raw = (params.get("expiretm") or "0").strip()
    relative = raw.startswith("+")
    try:
        value = Decimal(raw[1:] if relative else raw)
    except InvalidOperation:
        raise VenueError("EGeneral:Invalid arguments:expiretm") from None
    if not value.is_finite() or value < 0:
        raise VenueError("EGeneral:Invalid arguments:expiretm")
    if value == 0 and not relative:
        if tif == "GTD":
            raise VenueError("EGeneral:Invalid arguments:expiretm")
        return None
    if tif == "IOC":
        raise VenueError("EGeneral:Invalid arguments:expiretm")  # an IOC order never rests to expire
    ms = int(value * 1000)
    return now + ms if relative else ms


class KrakenRest:
    def __init__(self, sim: KrakenSimulator) -> None:
        self.sim = sim
        self.engine = sim.engine

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/0/public/{method}", self.public),
            web.post("/0/public/{method}", self.public),
            web.post("/0/private/{method}", self.private),
        ]

    async def _faults(self) -> web.Response | None:
        return await rest_fault(self.sim.faults, lambda: err("EAPI:Rate limit exceeded", status=429))

    # --- public ---------------------------------------------------------------------------------
    async def public(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.sim.log_request("public", method, dict(request.query))
        faulted = await self._faults()
        if faulted is not None:
            return faulted
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            params.update(dict(parse_qsl(await request.text())))
        now = self.sim.now()
        handler = {
            "Time": self._time,
            "SystemStatus": self._status,
            "Assets": self._assets,
            "AssetPairs": self._asset_pairs,
            "Ticker": self._ticker,
            "OHLC": self._ohlc,
            "Depth": self._depth,
            "Trades": self._trades,
        }.get(method)
        if handler is None:
            return err("EGeneral:Unknown method", status=404)
        try:
            return ok(handler(params, now))
        except VenueError as e:
            return err(e.code)

    def _time(self, params: dict[str, str], now: int) -> Any:
        return {"unixtime": now // 1000, "rfc1123": formatdate(now / 1000, usegmt=True)}

    def _status(self, params: dict[str, str], now: int) -> Any:
        return {"status": "online", "timestamp": kf.iso(now)}

    def _pairs(self, params: dict[str, str], required: bool) -> list[Any]:
        names = [n for n in params.get("pair", "").split(",") if n]
        if not names:
            if required:
                raise VenueError("EGeneral:Invalid arguments")
            return list(self.engine.pairs.values())
        return [self.engine.find_pair(n) for n in names]

    def _assets(self, params: dict[str, str], now: int) -> Any:
        out: dict[str, Any] = {}
        for p in self.engine.pairs.values():
            for a in (p.base, p.quote):
                out[a.id] = a.info()
        wanted = [n for n in params.get("asset", "").split(",") if n]
        if wanted:
            sel = {k: v for k, v in out.items() if k in wanted or v["altname"] in wanted}
            if len(sel) < len(wanted):
                raise VenueError("EQuery:Unknown asset")
            return sel
        return out

    def _asset_pairs(self, params: dict[str, str], now: int) -> Any:
        return {p.id: p.info() for p in self._pairs(params, required=False)}

    def _ticker(self, params: dict[str, str], now: int) -> Any:
        out = {}
        for p in self._pairs(params, required=False):
            series = self.engine.series[p.symbol]
            mid = series.price_at(now)
            if mid is None:
                continue
            asks, bids = synthetic_book(p, mid, series.started(now), depth=1)
            out[p.id] = kf.ticker(series, now, bids[0][0], asks[0][0], p.pair_decimals)
        return out

    def _ohlc(self, params: dict[str, str], now: int) -> Any:
        (p,) = self._pairs(params, required=True)[:1]
        series = self.engine.series[p.symbol]
        interval = int(params.get("interval", "1"))
        if interval not in _INTERVALS:
            raise VenueError("EGeneral:Invalid arguments")
        if interval * 60_000 != series.tf_ms:
            # the replay serves its candles at their own timeframe only (no resampling)
            raise VenueError("EGeneral:Invalid arguments:interval")
        since = params.get("since")
        started = series.started(now)
        if since is None:  # real Kraken: the newest 720 up to now (the forming one last), not the oldest
            start = max(0, started - MAX_OHLC_ROWS)
        else:
            start = series.first_after(int(float(since)) * 1000)
        end = min(started, start + MAX_OHLC_ROWS)
        rows = [kf.ohlc_entry(series, i, now, p.pair_decimals) for i in range(start, end)]
        closed_end = min(end, series.closed(now))
        last = series.rows[closed_end - 1].ts // 1000 if closed_end > 0 else 0
        # keyed by the pair id (XXBTZUSD, XBTUSDT), `last` a string of seconds: as recorded from Kraken
        return {p.id: rows, "last": str(last)}

    def _depth(self, params: dict[str, str], now: int) -> Any:
        (p,) = self._pairs(params, required=True)[:1]
        series = self.engine.series[p.symbol]
        count = min(max(int(params.get("count", "100")), 1), 500)
        mid = series.price_at(now)
        if mid is None:
            return {p.id: {"asks": [], "bids": []}}
        asks, bids = synthetic_book(p, mid, series.started(now), depth=count)
        ts = now // 1000

        def side(levels: list[tuple[Any, Any]]) -> list[list[Any]]:
            return [[fmt(a, p.pair_decimals), fmt(b, p.lot_decimals), ts] for a, b in levels]

        return {p.id: {"asks": side(asks), "bids": side(bids)}}

    def _trades(self, params: dict[str, str], now: int) -> Any:
        (p,) = self._pairs(params, required=True)[:1]
        series = self.engine.series[p.symbol]
        since_raw = params.get("since")
        since_s = None
        if since_raw:
            v = int(since_raw)
            since_s = v // 1_000_000_000 if v > 10**12 else v  # Kraken accepts ns ids or seconds
        count = min(max(int(params.get("count", "1000")), 1), 1000)
        trades = kf.public_trades(series, since_s, count, now)
        last = str(int(trades[-1][2] * 1_000_000_000)) if trades else str(now * 1_000_000)
        return {p.id: trades, "last": last}

    # --- private --------------------------------------------------------------------------------
    async def private(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.sim.log_request("private", method)
        faulted = await self._faults()
        if faulted is not None:
            return faulted
        body = await request.text()
        if request.content_type == "application/json":
            try:
                raw = json.loads(body or "{}")
            except ValueError:
                return err("EGeneral:Invalid arguments")
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
        else:
            params = dict(parse_qsl(body, keep_blank_values=True))
        key = request.headers.get("API-Key", "")
        account = self.engine.accounts.get(key)
        if account is None:
            return err("EAPI:Invalid key")
        nonce = params.get("nonce", "")
        if not nonce.isdigit():
            return err("EAPI:Invalid nonce")
        if not signature_ok(request.path, nonce, body, account.secret, request.headers.get("API-Sign", "")):
            return err("EAPI:Invalid signature")
        if not self.sim.nonces.accept(key, int(nonce)):
            return err("EAPI:Invalid nonce")
        now = self.sim.now()
        try:
            if method == "AddOrder":
                return await self._add_order(request, key, params, now)
            handler = {
                "Balance": self._balance,
                "BalanceEx": self._balance_ex,
                "CancelOrder": self._cancel,
                "CancelAll": self._cancel_all,
                "OpenOrders": self._open_orders,
                "ClosedOrders": self._closed_orders,
                "QueryOrders": self._query_orders,
                "TradesHistory": self._trades_history,
                "QueryTrades": self._query_trades,
                "GetWebSocketsToken": self._ws_token,
            }.get(method)
            if handler is None:
                return err("EGeneral:Unknown method", status=404)
            with self.engine.lock:  # the clock may be advanced from another thread
                return ok(handler(key, params, now))
        except VenueError as e:
            return err(e.code)

    async def _add_order(
        self, request: web.Request, key: str, params: dict[str, str], now: int
    ) -> web.Response:
        userref_raw = params.get("userref", "0") or "0"
        try:
            userref = int(userref_raw)
        except ValueError:
            raise VenueError("EGeneral:Invalid arguments:userref") from None
        expire_ms = expiry_ms(params, now)
        if params.get("validate") in ("true", "1", "True"):
            self.engine.find_pair(params.get("pair", ""))
            return ok({"descr": {"order": "validated"}})
        order, created = self.engine.add_order(
            key,
            params.get("pair", ""),
            params.get("type", ""),
            params.get("ordertype", ""),
            params.get("volume", ""),
            params.get("price"),
            userref=userref,
            cl_ord_id=params.get("cl_ord_id") or None,
            oflags=params.get("oflags", ""),
            now_ms=now,
            expire_ms=expire_ms,
        )
        self.sim.market_changed()
        if created:
            await timeout_after_accept(self.sim.faults, self.sim.hang_s, request)
        return ok({"descr": {"order": kf.order_descr(order)["order"]}, "txid": [order.txid]})

    def _balance(self, key: str, params: dict[str, str], now: int) -> Any:
        acc = self.engine.accounts[key]
        out = {}
        for code, amount in acc.balances.items():
            asset = self.sim.asset(code)
            out[asset.id] = f"{amount:.{asset.decimals}f}"
        return out

    def _balance_ex(self, key: str, params: dict[str, str], now: int) -> Any:
        acc = self.engine.accounts[key]
        holds = self.engine.holds(key)
        out = {}
        for code, amount in acc.balances.items():
            asset = self.sim.asset(code)
            out[asset.id] = {
                "balance": f"{amount:.{asset.decimals}f}",
                "hold_trade": f"{holds.get(code, 0):.{asset.decimals}f}",
            }
        return out

    def _cancel(self, key: str, params: dict[str, str], now: int) -> Any:
        ident = params.get("cl_ord_id") or params.get("txid", "")
        count = self.engine.cancel(key, ident, now_ms=now)
        self.sim.market_changed()
        return {"count": count}

    def _cancel_all(self, key: str, params: dict[str, str], now: int) -> Any:
        count = self.engine.cancel_all(key, now_ms=now)
        self.sim.market_changed()
        return {"count": count}

    def _own_orders(self, key: str, params: dict[str, str], active: bool) -> list[Any]:
        self.engine.sync(self.sim.now())
        userref = params.get("userref")
        cl = params.get("cl_ord_id")
        out = []
        for o in self.engine.orders.values():
            if o.api_key != key or o.active != active:
                continue
            if userref and str(o.userref) != userref:
                continue
            if cl and o.cl_ord_id != cl:
                continue
            out.append(o)
        return out

    def _open_orders(self, key: str, params: dict[str, str], now: int) -> Any:
        trades = params.get("trades") in ("true", "True", "1")
        orders = self._own_orders(key, params, active=True)
        return {"open": {o.txid: kf.order_info(o, trades) for o in orders}}

    def _closed_orders(self, key: str, params: dict[str, str], now: int) -> Any:
        trades = params.get("trades") in ("true", "True", "1")
        start = int(float(params.get("start", "0") or 0)) * 1000
        end = int(float(params["end"])) * 1000 if params.get("end") else None
        orders = [
            o
            for o in self._own_orders(key, params, active=False)
            if (o.closed_ms or 0) >= start and (end is None or (o.closed_ms or 0) <= end)
        ]
        orders.sort(key=lambda o: o.closed_ms or 0, reverse=True)
        return {"closed": {o.txid: kf.order_info(o, trades) for o in orders[:50]}, "count": len(orders)}

    def _query_orders(self, key: str, params: dict[str, str], now: int) -> Any:
        self.engine.sync(now)
        trades = params.get("trades") in ("true", "True", "1")
        out = {}
        for txid in [t for t in params.get("txid", "").split(",") if t]:
            o = self.engine.orders.get(txid)
            if o is None or o.api_key != key:
                raise VenueError("EOrder:Invalid order")
            out[txid] = kf.order_info(o, trades)
        return out

    def _own_trades(self, key: str) -> list[Any]:
        self.engine.sync(self.sim.now())
        return [t for t in self.engine.trades.values() if t.api_key == key]

    def _trades_history(self, key: str, params: dict[str, str], now: int) -> Any:
        start = int(float(params.get("start", "0") or 0)) * 1000
        end = int(float(params["end"])) * 1000 if params.get("end") else None
        sel = [t for t in self._own_trades(key) if t.ts_ms >= start and (end is None or t.ts_ms <= end)]
        sel.sort(key=lambda t: t.ts_ms, reverse=True)
        ofs = int(params.get("ofs", "0") or 0)
        page = sel[ofs : ofs + 50]
        return {"trades": {t.trade_id: kf.trade_info(t) for t in page}, "count": len(sel)}

    def _query_trades(self, key: str, params: dict[str, str], now: int) -> Any:
        own = {t.trade_id: t for t in self._own_trades(key)}
        out = {}
        for tid in [t for t in params.get("txid", "").split(",") if t]:
            if tid not in own:
                raise VenueError("EGeneral:Invalid arguments")
            out[tid] = kf.trade_info(own[tid])
        return out

    def _ws_token(self, key: str, params: dict[str, str], now: int) -> Any:
        token = secrets.token_urlsafe(32)
        self.sim.ws_tokens[token] = key
        return {"token": token, "expires": 900}
