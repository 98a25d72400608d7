"""Kraken's WebSocket API v2 (what ccxt.pro's kraken speaks): public ticker/ohlc/book/trade and
the private `executions` channel (own orders and fills) authorised by a REST-issued token.

Per connection: a pump sends updates when the replay clock moves (heartbeat each second when it
does not), a second task forwards engine events to private subscribers. The WS faults (drop,
duplicate, reorder) apply to channel data messages, never to acks, pongs or heartbeats. The latency
fault (`ws_delay_ms` + `ws_jitter_ms`) holds back every outgoing message, acks and heartbeats too, as
a slow network would; a connection's messages still leave in the order they were sent (only the
`reorder_ws` fault changes that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from aitrader.venues.simulator import kraken_format as kf
from aitrader.venues.simulator.book import Level, book_checksum, synthetic_book
from aitrader.venues.simulator.engine import SimOrder, SimTrade, VenueError
from aitrader.venues.simulator.kraken_pairs import KrakenPair
from aitrader.venues.simulator.ws_out import WsConn, send, send_update

if TYPE_CHECKING:
    from aitrader.venues.simulator.server import KrakenSimulator

BOOK_DEPTHS = (10, 25, 100, 500, 1000)
OHLC_SNAPSHOT = 100


@dataclass(eq=False)
class _Conn(WsConn):
    private: bool = False
    subs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # channel -> symbol -> state
    api_key: str | None = None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    sequence: int = 0


def _num(d: Decimal | str) -> float:
    return float(d)


class KrakenWs:
    def __init__(self, sim: KrakenSimulator) -> None:
        self.sim = sim
        self.conns: set[_Conn] = set()
        # every (un)subscribe request received, with its connection: what a client really asked for
        # (tests count subscriptions per socket with it; the newest 10,000 are kept)
        self.subscriptions_log: deque[tuple[_Conn, dict[str, Any]]] = deque(maxlen=10_000)
        sim.engine.listeners.append(self._on_engine_event)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws/v2", self._public), web.get("/ws-auth/v2", self._private)]

    async def close_all(self) -> None:
        for c in list(self.conns):
            with contextlib.suppress(Exception):
                await c.ws.close()

    async def _public(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, private=False)

    async def _private(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, private=True)

    async def _serve(self, request: web.Request, private: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws, private=private)
        self.conns.add(conn)
        await self._raw(
            conn,
            {
                "channel": "status",
                "type": "update",
                "data": [
                    {"version": "2.0.10", "system": "online", "api_version": "v2", "connection_id": id(conn)}
                ],
            },
        )
        tasks = [asyncio.create_task(self._pump(conn)), asyncio.create_task(self._forward(conn))]
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    await self._raw(conn, {"error": "Malformed request", "success": False})
                    continue
                await self._request(conn, req)
        finally:
            for t in tasks:
                t.cancel()
            conn.close_sender()
            self.conns.discard(conn)
        return ws

    # --- sending (with faults) ------------------------------------------------------------------
    async def _raw(self, conn: _Conn, msg: dict[str, Any]) -> None:
        await send(conn, self.sim.faults, msg)

    async def _data(self, conn: _Conn, msg: dict[str, Any]) -> None:
        """A channel update: the drop/duplicate/reorder faults may strike it."""
        await send_update(conn, self.sim.faults, msg)

    # --- requests -------------------------------------------------------------------------------
    def _ack(
        self, req: dict[str, Any], result: dict[str, Any] | None, error: str | None = None
    ) -> dict[str, Any]:
        now = kf.iso(self.sim.clock.now())
        msg: dict[str, Any] = {
            "method": req.get("method"),
            "success": error is None,
            "time_in": now,
            "time_out": now,
        }
        if "req_id" in req:
            msg["req_id"] = req["req_id"]
        if error is None:
            msg["result"] = result
        else:
            msg["error"] = error
        return msg

    async def _request(self, conn: _Conn, req: dict[str, Any]) -> None:
        method = req.get("method")
        if method == "ping":
            await self._raw(conn, self._ack(req, None) | {"method": "pong"})
            return
        if method not in ("subscribe", "unsubscribe"):
            await self._raw(conn, self._ack(req, None, f"Method not found: {method}"))
            return
        self.subscriptions_log.append((conn, req))
        params = req.get("params") or {}
        channel = params.get("channel")
        if channel == "executions":
            await self._sub_executions(conn, req, params)
            return
        if conn.private or channel not in ("ticker", "ohlc", "book", "trade"):
            await self._raw(conn, self._ack(req, None, f"Subscription name invalid: {channel}"))
            return
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            await self._raw(conn, self._ack(req, None, "Pair field must be an array"))
            return
        for sym in symbols:
            try:
                pair = self.sim.engine.find_pair(str(sym))
            except VenueError:
                await self._raw(conn, self._ack(req, None, f"Currency pair not supported {sym}"))
                continue
            if method == "unsubscribe":
                conn.subs.get(channel, {}).pop(pair.symbol, None)
                await self._raw(conn, self._ack(req, {"channel": channel, "symbol": pair.symbol}))
                continue
            state: dict[str, Any] = {}
            result: dict[str, Any] = {"channel": channel, "symbol": pair.symbol, "snapshot": True}
            if channel == "ohlc":
                interval = params.get("interval")
                if interval is None:
                    await self._raw(conn, self._ack(req, None, "Subscription ohlc requires interval"))
                    continue
                if int(interval) * 60_000 != self.sim.engine.series[pair.symbol].tf_ms:
                    await self._raw(conn, self._ack(req, None, "Subscription ohlc interval not supported"))
                    continue
                result["interval"] = int(interval)
            if channel == "book":
                depth = int(params.get("depth", 10))
                if depth not in BOOK_DEPTHS:
                    await self._raw(conn, self._ack(req, None, "Subscription depth not supported"))
                    continue
                state["depth"] = depth
                result["depth"] = depth
            conn.subs.setdefault(channel, {})[pair.symbol] = state
            await self._raw(conn, self._ack(req, result))
            await self._snapshot(conn, channel, pair, state)

    async def _sub_executions(self, conn: _Conn, req: dict[str, Any], params: dict[str, Any]) -> None:
        if not conn.private:
            await self._raw(conn, self._ack(req, None, "Subscription name invalid: executions"))
            return
        key = self.sim.ws_tokens.get(str(params.get("token", "")))
        if key is None:
            await self._raw(conn, self._ack(req, None, "ESession:Invalid session"))
            return
        conn.api_key = key
        conn.subs["executions"] = {"*": {}}
        await self._raw(conn, self._ack(req, {"channel": "executions", "snapshot": True}))
        eng = self.sim.engine
        with eng.lock:
            if params.get("snap_orders", True):
                orders = [o for o in eng.orders.values() if o.api_key == key and o.active]
                data = [self._order_msg("new", o) for o in orders]
                await self._exec(conn, data, "snapshot")
            if params.get("snap_trades", False):
                trades = [t for t in eng.trades.values() if t.api_key == key][-50:]
                data = [self._trade_msg(eng.orders[t.order_id], t) for t in trades]
                if data:
                    await self._exec(conn, data, "snapshot")

    async def _exec(self, conn: _Conn, data: list[dict[str, Any]], kind: str) -> None:
        conn.sequence += 1
        msg = {"channel": "executions", "type": kind, "data": data, "sequence": conn.sequence}
        if kind == "snapshot":
            await self._raw(conn, msg)
        else:
            await self._data(conn, msg)

    # --- private events -------------------------------------------------------------------------
    def _order_msg(self, kind: str, o: SimOrder) -> dict[str, Any]:
        pair = o.pair
        ts = kf.iso(o.closed_ms if o.closed_ms is not None else o.opened_ms)
        base: dict[str, Any] = {
            "order_id": o.txid,
            "order_userref": o.userref,
            "symbol": pair.symbol,
            "exec_type": kind,
            "timestamp": ts,
            "cum_qty": _num(o.vol_exec),
            "cum_cost": _num(o.cost),
            "avg_price": _num(o.avg_price),
            "fee_usd_equiv": 0.0,
        }
        if o.cl_ord_id:
            base["cl_ord_id"] = o.cl_ord_id
        if kind == "new":
            status = "partially_filled" if o.vol_exec > 0 else "new"
            base |= {
                "order_qty": _num(o.volume),
                "time_in_force": "GTC" if o.expire_ms is None else "GTD",
                "side": o.side,
                "order_type": o.ordertype,
                "order_status": status,
                "fee_ccy_pref": o.oflags.split(",")[-1],
            }
            if o.price is not None:
                base |= {"limit_price": _num(o.price), "limit_price_type": "static"}
            if o.expire_ms is not None:
                base["expire_time"] = kf.iso(o.expire_ms)
        elif kind == "filled":
            base["order_status"] = "filled"
        elif kind == "expired":  # a GTD order whose expiry passed: exec_type and status "expired"
            base |= {"order_status": "expired", "reason": o.reason}
        else:
            base |= {"order_status": kind, "reason": o.reason, "cancel_reason": o.reason}
        return base

    def _trade_msg(self, o: SimOrder, t: SimTrade) -> dict[str, Any]:
        return {
            "order_id": o.txid,
            "exec_id": t.trade_id,
            "exec_type": "trade",
            "trade_id": zlib.crc32(t.trade_id.encode()),
            "symbol": o.pair.symbol,
            "side": t.side,
            "last_qty": _num(t.vol),
            "last_price": _num(t.price),
            "liquidity_ind": "m" if t.maker else "t",
            "cost": _num(t.cost),
            "order_userref": o.userref,
            "order_status": "filled" if o.remaining <= 0 else "partially_filled",
            "order_type": o.ordertype,
            "fee_usd_equiv": 0.0,
            "fees": [{"asset": o.pair.quote.code, "qty": _num(t.fee)}],
            "timestamp": kf.iso(t.ts_ms),
        }

    def _on_engine_event(self, kind: str, order: SimOrder, trade: SimTrade | None) -> None:
        if kind == "trade" and trade is not None:
            data = self._trade_msg(order, trade)
        else:
            data = self._order_msg(kind, order)
        for conn in list(self.conns):
            if conn.api_key == order.api_key and "executions" in conn.subs:
                self._enqueue(conn, data)

    def _enqueue(self, conn: _Conn, data: dict[str, Any]) -> None:
        self.sim.run_on_loop(conn.queue.put_nowait, data)

    async def _forward(self, conn: _Conn) -> None:
        while True:
            data = await conn.queue.get()
            await self._exec(conn, [data], "update")

    # --- public streams -------------------------------------------------------------------------
    async def _pump(self, conn: _Conn) -> None:
        seen = self.sim.version
        while not conn.ws.closed:
            version = await self.sim.wait_change(seen, 1.0)
            if version == seen:
                await self._raw(conn, {"channel": "heartbeat"})
                continue
            seen = version
            for channel, by_symbol in list(conn.subs.items()):
                if channel == "executions":
                    continue
                for symbol, state in list(by_symbol.items()):
                    await self._update(conn, channel, self.sim.engine.pairs[symbol], state)

    async def _snapshot(self, conn: _Conn, channel: str, pair: KrakenPair, state: dict[str, Any]) -> None:
        now = self.sim.now()
        series = self.sim.engine.series[pair.symbol]
        if channel == "ticker":
            state["key"] = (series.started(now), series.closed(now))
            await self._raw(
                conn, {"channel": "ticker", "type": "snapshot", "data": [self._ticker(pair, now)]}
            )
        elif channel == "ohlc":
            end = series.started(now)
            rows = [self._candle(pair, i, now) for i in range(max(0, end - OHLC_SNAPSHOT), end)]
            state["sent"] = (end, series.closed(now))
            await self._raw(conn, {"channel": "ohlc", "type": "snapshot", "data": rows})
        elif channel == "book":
            asks, bids = self._book(pair, now, state["depth"])
            state["book"] = (asks, bids)
            await self._raw(
                conn,
                {
                    "channel": "book",
                    "type": "snapshot",
                    "data": [
                        {
                            "symbol": pair.symbol,
                            "bids": [{"price": _num(p), "qty": _num(q)} for p, q in bids],
                            "asks": [{"price": _num(p), "qty": _num(q)} for p, q in asks],
                            "checksum": book_checksum(pair, asks, bids),
                        }
                    ],
                },
            )
        elif channel == "trade":
            trades = kf.public_trades(series, max(0, now // 1000 - 3600), 50, now)
            state["last_ts"] = trades[-1][2] if trades else 0.0
            await self._raw(
                conn, {"channel": "trade", "type": "snapshot", "data": [self._trade(pair, t) for t in trades]}
            )

    async def _update(self, conn: _Conn, channel: str, pair: KrakenPair, state: dict[str, Any]) -> None:
        now = self.sim.now()
        series = self.sim.engine.series[pair.symbol]
        if channel == "ticker":
            key = (series.started(now), series.closed(now))
            if key != state.get("key"):
                state["key"] = key
                await self._data(
                    conn, {"channel": "ticker", "type": "update", "data": [self._ticker(pair, now)]}
                )
        elif channel == "ohlc":
            end, closed = series.started(now), series.closed(now)
            prev_end, prev_closed = state["sent"]
            if (end, closed) == (prev_end, prev_closed):
                if self.sim.push_hz > 0 and end > closed:  # the forming candle, pushed between boundaries
                    await self._data(
                        conn,
                        {
                            "channel": "ohlc",
                            "type": "update",
                            "timestamp": kf.iso(now),
                            "data": [self._candle(pair, end - 1, now)],
                        },
                    )
                return
            state["sent"] = (end, closed)
            first = max(min(prev_closed, prev_end), end - OHLC_SNAPSHOT, 0)
            for i in range(first, end):
                await self._data(
                    conn,
                    {
                        "channel": "ohlc",
                        "type": "update",
                        "timestamp": kf.iso(now),
                        "data": [self._candle(pair, i, now)],
                    },
                )
        elif channel == "book":
            old_asks, old_bids = state["book"]
            asks, bids = self._book(pair, now, state["depth"])
            if (asks, bids) == (old_asks, old_bids):
                return
            state["book"] = (asks, bids)
            await self._data(
                conn,
                {
                    "channel": "book",
                    "type": "update",
                    "data": [
                        {
                            "symbol": pair.symbol,
                            "bids": _diff(old_bids, bids),
                            "asks": _diff(old_asks, asks),
                            "checksum": book_checksum(pair, asks, bids),
                            "timestamp": kf.iso(now),
                        }
                    ],
                },
            )
        elif channel == "trade":
            trades = [
                t
                for t in kf.public_trades(series, int(state["last_ts"]), 1000, now)
                if t[2] > state["last_ts"]
            ]
            if trades:
                state["last_ts"] = trades[-1][2]
                await self._data(
                    conn,
                    {"channel": "trade", "type": "update", "data": [self._trade(pair, t) for t in trades]},
                )

    # --- payloads -------------------------------------------------------------------------------
    def _book(self, pair: KrakenPair, now: int, depth: int) -> tuple[list[Level], list[Level]]:
        series = self.sim.engine.series[pair.symbol]
        mid = series.price_at(now)
        if mid is None:
            return [], []
        return synthetic_book(pair, mid, series.started(now), depth=depth)

    def _ticker(self, pair: KrakenPair, now: int) -> dict[str, Any]:
        series = self.sim.engine.series[pair.symbol]
        mid = series.price_at(now) or Decimal(0)
        asks, bids = synthetic_book(pair, mid, series.started(now), depth=1) if mid else ([], [])
        t = kf.ticker(
            series, now, bids[0][0] if bids else mid, asks[0][0] if asks else mid, pair.pair_decimals
        )
        last = Decimal(t["c"][0])
        opened = Decimal(t["o"])
        change = last - opened
        return {
            "symbol": pair.symbol,
            "bid": _num(t["b"][0]),
            "bid_qty": _num(bids[0][1]) if bids else 0.0,
            "ask": _num(t["a"][0]),
            "ask_qty": _num(asks[0][1]) if asks else 0.0,
            "last": _num(last),
            "volume": _num(t["v"][1]),
            "vwap": _num(t["p"][1]),
            "low": _num(t["l"][1]),
            "high": _num(t["h"][1]),
            "change": _num(change),
            "change_pct": round(float(change / opened * 100), 2) if opened else 0.0,
        }

    def _candle(self, pair: KrakenPair, i: int, now: int) -> dict[str, Any]:
        series = self.sim.engine.series[pair.symbol]
        o, h, lo, c, v = kf.forming_row(series, i, now)
        ts = series.rows[i].ts
        return {
            "symbol": pair.symbol,
            "open": _num(o),
            "high": _num(h),
            "low": _num(lo),
            "close": _num(c),
            "trades": 4,
            "volume": _num(v),
            "vwap": _num((Decimal(o) + Decimal(h) + Decimal(lo) + Decimal(c)) / 4),
            "interval_begin": kf.iso(ts),
            "interval": series.tf_ms // 60_000,
            "timestamp": kf.iso(ts + series.tf_ms),
        }

    def _trade(self, pair: KrakenPair, t: list[Any]) -> dict[str, Any]:
        return {
            "symbol": pair.symbol,
            "side": "buy" if t[3] == "b" else "sell",
            "price": _num(t[0]),
            "qty": _num(t[1]),
            "ord_type": "market",
            "trade_id": t[6],
            "timestamp": kf.iso(int(t[2] * 1000)),
        }


def _diff(old: list[Level], new: list[Level]) -> list[dict[str, float]]:
    """Book side update: new/changed levels with their qty, vanished levels with qty 0."""
    new_map = dict(new)
    out = [{"price": _num(p), "qty": 0.0} for p, _ in old if p not in new_map]
    old_map = dict(old)
    out += [{"price": _num(p), "qty": _num(q)} for p, q in new if old_map.get(p) != q]
    return out
