"""Coinbase Advanced Trade's WebSocket (what ccxt.pro's `coinbase` speaks) over the replay.

Served on `/ws` (Coinbase's `wss://advanced-trade-ws.coinbase.com`: every channel) and `/ws-user`
(`wss://advanced-trade-ws-user.coinbase.com`: `user` and `heartbeats` only); `make_exchange("coinbase",
..., ws_url=sim.ws_url)` points ccxt there. One subscribe message per channel, as Coinbase takes it:
`{"type": "subscribe" | "unsubscribe", "channel": ..., "product_ids": [...], "jwt": ...}`. Every
server message has Coinbase's envelope `{"channel", "client_id", "timestamp", "sequence_num",
"events"}` (replay time, one sequence per connection); after each (un)subscribe a `subscriptions`
message lists what the connection is subscribed to.

Channels:
- `ticker` / `ticker_batch`: price, 24 h volume/low/high/change, 52-week low/high, best bid/ask with
  sizes (`ticker` only, as the production feed), a snapshot then an update at every candle open/close;
- `level2` (messages on `l2_data`): the synthetic book (50 levels a side, the REST `product_book`
  default, same levels), snapshot then diffs (`new_quantity` "0" for a vanished level);
- `market_trades`: the synthetic trades the REST ticker lists (four per closed candle, same ids),
  newest first: the last 50 as a snapshot, then each closed candle's;
- `candles`: the replayed candles at their own timeframe (Coinbase streams five-minute ones, which
  is what the bundled data is): the last 100 newest first, then every candle that changed (with
  `push_hz`, the forming one on every push);
- `heartbeats`: a counter every second;
- `user` (needs a valid CDP JWT in `jwt`, checked as the REST side checks its bearer tokens except
  that a WebSocket token names no request): a snapshot of the key's open orders, then an update per
  order event of the matching engine (placed, partly filled, filled, cancelled, expired), optionally
  filtered by `product_ids`.
A bad or missing JWT where one is needed, a legacy HMAC key, or a token for an unknown key is refused
with `{"type": "error", "message": "authentication failure"}` (the reason goes to
`sim.auth_failures`), other bad requests with `{"type": "error", "message": "Failed to subscribe",
"reason": ...}`; the connection stays open. The WS faults (drop, duplicate, reorder) hit channel
updates only, never snapshots, `subscriptions` or heartbeats; the latency fault delays every message
and keeps a connection's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from aitrader.core.time import DAY_MS
from aitrader.venues.simulator import kraken_format as kf
from aitrader.venues.simulator.book import fmt
from aitrader.venues.simulator.coinbase_auth import AuthError
from aitrader.venues.simulator.coinbase_format import candle, num, product_info, uid
from aitrader.venues.simulator.coinbase_market import _book
from aitrader.venues.simulator.coinbase_products import CoinbaseProduct
from aitrader.venues.simulator.engine import SimOrder, SimTrade
from aitrader.venues.simulator.ws_out import WsConn, send, send_update

if TYPE_CHECKING:
    from aitrader.venues.simulator.coinbase import CoinbaseSimulator

BOOK_DEPTH = 50
TRADES_SNAPSHOT = 50
CANDLES_SNAPSHOT = 100
MARKET_CHANNELS = ("ticker", "ticker_batch", "level2", "market_trades", "candles")
USER_CHANNELS = ("user", "heartbeats")
YEAR_MS = 365 * DAY_MS
_NO_POSITIONS: dict[str, list[Any]] = {"perpetual_futures_positions": [], "expiring_futures_positions": []}
_STATUS = {"pending": "PENDING", "open": "OPEN", "closed": "FILLED", "canceled": "CANCELLED",
           "expired": "EXPIRED"}  # fmt: skip


@dataclass(eq=False)
class _Conn(WsConn):
    user_only: bool = False  # the user endpoint: user and heartbeats channels only
    subs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # channel -> product -> state
    api_key: str | None = None
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    sequence: int = 0
    heartbeat_counter: int = 0
    heartbeats: asyncio.Task[None] | None = None


class _Refused(Exception):
    """A subscribe request refused with Coinbase's error message (and our reason)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason


class CoinbaseWs:
    def __init__(self, sim: CoinbaseSimulator) -> None:
        self.sim = sim
        self.conns: set[_Conn] = set()
        # every (un)subscribe request received, with its connection (the newest 10,000)
        self.subscriptions_log: deque[tuple[_Conn, dict[str, Any]]] = deque(maxlen=10_000)
        self._year_range: dict[tuple[str, int, int, int], tuple[Decimal, Decimal]] = {}
        sim.engine.listeners.append(self._on_engine_event)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ws", self._market), web.get("/ws-user", self._user)]

    async def close_all(self) -> None:
        for c in list(self.conns):
            with contextlib.suppress(Exception):
                await c.ws.close()

    async def _market(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, user_only=False)

    async def _user(self, request: web.Request) -> web.WebSocketResponse:
        return await self._serve(request, user_only=True)

    async def _serve(self, request: web.Request, user_only: bool) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws, user_only=user_only)
        self.conns.add(conn)
        tasks = [asyncio.create_task(self._pump(conn)), asyncio.create_task(self._forward(conn))]
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                except ValueError:
                    req = None
                if not isinstance(req, dict):
                    await self._error(conn, "Failed to subscribe", "the request is not a JSON object")
                    continue
                await self._request(conn, req)
        finally:
            if conn.heartbeats is not None:
                tasks.append(conn.heartbeats)
            for t in tasks:
                t.cancel()
            conn.close_sender()
            self.conns.discard(conn)
        return ws

    # --- sending (with faults) ------------------------------------------------------------------
    def _envelope(self, conn: _Conn, channel: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        seq = conn.sequence
        conn.sequence += 1
        return {
            "channel": channel,
            "client_id": "",
            "timestamp": kf.iso(self.sim.clock.now()),
            "sequence_num": seq,
            "events": events,
        }

    async def _raw(self, conn: _Conn, msg: dict[str, Any]) -> None:
        await send(conn, self.sim.faults, msg)

    async def _data(self, conn: _Conn, msg: dict[str, Any]) -> None:
        """A channel update: the drop/duplicate/reorder faults may strike it."""
        await send_update(conn, self.sim.faults, msg)

    async def _error(self, conn: _Conn, message: str, reason: str | None = None) -> None:
        msg = {"type": "error", "message": message}
        if reason is not None:
            msg["reason"] = reason
        await self._raw(conn, msg)

    # --- requests -------------------------------------------------------------------------------
    async def _request(self, conn: _Conn, req: dict[str, Any]) -> None:
        self.subscriptions_log.append((conn, req))
        try:
            kind, channel, products, key = self._check(conn, req)
        except _Refused as e:
            await self._error(conn, e.message, None if e.message == "authentication failure" else e.reason)
            return
        if kind == "unsubscribe":
            self._unsubscribe(conn, channel, products)
            await self._subscriptions(conn)
            return
        if channel == "heartbeats":
            conn.subs.setdefault("heartbeats", {})[""] = {}
            if conn.heartbeats is None:
                conn.heartbeats = asyncio.create_task(self._beat(conn))
            await self._subscriptions(conn)
            return
        if channel == "user":
            conn.api_key = key
            wanted = products or [""]
            with self.sim.engine.lock:  # events after this point are queued for the connection
                for pid in wanted:
                    conn.subs.setdefault("user", {})[pid] = {}
                snapshot = self._user_snapshot(conn, products)
            await self._subscriptions(conn)
            await self._raw(conn, snapshot)
            return
        states = conn.subs.setdefault(channel, {})
        fresh = [pid for pid in products if pid not in states]
        for pid in fresh:
            states[pid] = {}
        await self._subscriptions(conn)
        for pid in fresh:
            await self._snapshot(conn, channel, self.sim.products_by_id[pid], states[pid])

    def _check(self, conn: _Conn, req: dict[str, Any]) -> tuple[str, str, list[str], str | None]:
        """(type, channel, product ids, API key if authenticated) of a valid request; _Refused if not."""
        kind = req.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            raise _Refused("Failed to subscribe", f"unknown message type {kind!r}")
        channel = req.get("channel")
        if not isinstance(channel, str):
            raise _Refused("Failed to subscribe", "channel is required")
        allowed = USER_CHANNELS if conn.user_only else (*MARKET_CHANNELS, *USER_CHANNELS)
        if channel not in allowed:
            raise _Refused("Failed to subscribe", f"channel {channel!r} is not served here")
        products = req.get("product_ids", [])
        if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
            raise _Refused("Failed to subscribe", "product_ids must be a list of product ids")
        unknown = [p for p in products if p not in self.sim.products_by_id]
        if unknown and channel != "heartbeats":
            raise _Refused("Failed to subscribe", f"unknown product ids {unknown}")
        if channel in MARKET_CHANNELS and kind == "subscribe" and not products:
            raise _Refused("Failed to subscribe", f"channel {channel} needs product_ids")
        key = None
        if "jwt" in req or "signature" in req or channel == "user":
            key = self._authenticate(req)
        return kind, channel, [] if channel == "heartbeats" else list(dict.fromkeys(products)), key

    def _authenticate(self, req: dict[str, Any]) -> str:
        try:
            if "jwt" not in req:
                raise AuthError("legacy API key signature" if "signature" in req else "no jwt")
            key = self.sim.auth.verify_ws(req["jwt"])
            if key not in self.sim.engine.accounts:
                raise AuthError("unknown API key")
        except AuthError as e:
            self.sim.auth_failures.append(str(e))
            raise _Refused("authentication failure", str(e)) from None
        return key

    def _unsubscribe(self, conn: _Conn, channel: str, products: list[str]) -> None:
        states = conn.subs.get(channel)
        if states is None:
            return
        if not products:
            states.clear()
        for pid in products:
            states.pop(pid, None)
        if not states:
            del conn.subs[channel]
            if channel == "heartbeats" and conn.heartbeats is not None:
                conn.heartbeats.cancel()
                conn.heartbeats = None

    async def _subscriptions(self, conn: _Conn) -> None:
        subs = {ch: [p for p in states if p] for ch, states in conn.subs.items()}
        await self._raw(conn, self._envelope(conn, "subscriptions", [{"subscriptions": subs}]))

    async def _beat(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not conn.ws.closed:
            await asyncio.sleep(1.0)
            conn.heartbeat_counter += 1
            wall = datetime.fromtimestamp(self.sim.clock.now() / 1000, tz=UTC)
            stamp = f"{wall:%Y-%m-%d %H:%M:%S.%f}000 +0000 UTC m=+{loop.time() - started:.9f}"
            event = {"current_time": stamp, "heartbeat_counter": conn.heartbeat_counter}
            await self._raw(conn, self._envelope(conn, "heartbeats", [event]))

    # --- the user channel -----------------------------------------------------------------------
    def _user_snapshot(self, conn: _Conn, products: list[str]) -> dict[str, Any]:
        eng = self.sim.engine
        orders = [
            self._order(o, "new")
            for o in sorted(eng.orders.values(), key=lambda o: o.opened_ms)
            if o.api_key == conn.api_key and o.active and (not products or o.pair.id in products)
        ]
        event = {"type": "snapshot", "orders": orders, "positions": _NO_POSITIONS}
        return self._envelope(conn, "user", [event])

    def _order(self, o: SimOrder, kind: str) -> dict[str, Any]:
        """An order as the user channel shows it (call with the engine lock held)."""
        eng = self.sim.engine
        pair = o.pair
        fills = [eng.trades[t] for t in o.trade_ids if t in eng.trades]
        filled = sum((t.vol for t in fills), start=Decimal(0))
        avg = sum((t.price * t.vol for t in fills), start=Decimal(0)) / filled if filled else Decimal(0)
        status = "FAILED" if kind == "rejected" else _STATUS.get(o.status, "UNKNOWN_ORDER_STATUS")
        hold = Decimal(0)
        if o.active and o.side == "buy":
            quant = Decimal(1).scaleb(-pair.quote.decimals)
            hold = (o.remaining * (o.price or o.ref_price) * (1 + eng.taker_fee)).quantize(quant)
        elif o.active:
            hold = o.remaining
        pct = o.vol_exec / o.volume * 100 if o.volume else Decimal(0)
        user = self.sim.user_id(o.api_key)
        return {
            "order_id": uid("order", o.txid),
            "client_order_id": o.cl_ord_id or "",
            "contract_expiry_type": "UNKNOWN_CONTRACT_EXPIRY_TYPE",
            "cumulative_quantity": num(o.vol_exec),
            "leaves_quantity": num(o.remaining) if o.active else "0",
            "avg_price": num(avg.quantize(Decimal(1).scaleb(-pair.pair_decimals - 4))),
            "total_fees": num(o.fee),
            "status": status,
            "product_id": pair.id,
            "product_type": "SPOT",
            "creation_time": kf.iso(o.opened_ms),
            "order_side": o.side.upper(),
            "order_type": "Limit" if o.ordertype == "limit" else "Market",
            "risk_managed_by": "UNKNOWN_RISK_MANAGEMENT_TYPE",
            "time_in_force": "GOOD_UNTIL_CANCELLED" if o.ordertype == "limit" else "IMMEDIATE_OR_CANCEL",
            "trigger_status": "INVALID_ORDER_TYPE",
            "cancel_reason": "User requested cancel" if o.status == "canceled" else "",
            "reject_reason": "",
            "total_value_after_fees": num(o.cost + o.fee if o.side == "buy" else o.cost - o.fee),
            "number_of_fills": str(len(o.trade_ids)),
            "filled_value": num(o.cost),
            "limit_price": num(o.price) if o.price is not None else "0",
            "post_only": "post" in o.oflags.split(","),
            "outstanding_hold_amount": num(hold),
            "completion_percentage": f"{pct:.2f}",
            "retail_portfolio_id": uid("portfolio", user),
        }

    def _on_engine_event(self, kind: str, order: SimOrder, trade: SimTrade | None) -> None:
        """Engine thread, lock held: the order's state now, queued for its key's user subscribers."""
        if kind == "trade" and order.remaining <= 0:
            return  # the "filled" event that follows at once says it
        targets = [
            c
            for c in list(self.conns)
            if c.api_key == order.api_key
            and (states := c.subs.get("user")) is not None
            and ("" in states or order.pair.id in states)
        ]
        if not targets:
            return
        data = self._order(order, kind)
        for conn in targets:
            self.sim.run_on_loop(conn.queue.put_nowait, data)

    async def _forward(self, conn: _Conn) -> None:
        while True:
            data = await conn.queue.get()
            if "user" in conn.subs:
                msg = self._envelope(conn, "user", [{"type": "update", "orders": [data]}])
                await self._data(conn, msg)

    # --- market data ----------------------------------------------------------------------------
    async def _pump(self, conn: _Conn) -> None:
        seen = self.sim.version
        while not conn.ws.closed:
            version = await self.sim.wait_change(seen, 1.0)
            if version == seen:
                continue
            seen = version
            for channel, states in list(conn.subs.items()):
                if channel not in MARKET_CHANNELS:
                    continue
                for pid, state in list(states.items()):
                    await self._update(conn, channel, self.sim.products_by_id[pid], state)

    async def _snapshot(self, conn: _Conn, channel: str, p: CoinbaseProduct, state: dict[str, Any]) -> None:
        now = self.sim.now()
        series = self.sim.engine.series[p.symbol]
        with self.sim.engine.lock:
            if channel in ("ticker", "ticker_batch"):
                state["key"] = (series.started(now), series.closed(now))
                ticker = self._ticker(p, now, batch=channel == "ticker_batch")
                events = [{"type": "snapshot", "tickers": [ticker]}] if ticker else []
            elif channel == "level2":
                asks, bids = self._levels(p, now)
                state["book"] = (asks, bids)
                updates = _levels("bid", bids, "1970-01-01T00:00:00Z") + _levels(
                    "offer", asks, "1970-01-01T00:00:00Z"
                )
                events = [{"type": "snapshot", "product_id": p.product_id, "updates": updates}]
            elif channel == "market_trades":
                closed = series.closed(now)
                state["closed"] = closed
                trades = self._trades(p, max(0, closed - TRADES_SNAPSHOT), now)[:TRADES_SNAPSHOT]
                events = [{"type": "snapshot", "trades": trades}] if trades else []
            else:  # candles
                end = series.started(now)
                state["sent"] = (end, series.closed(now))
                first = max(0, end - CANDLES_SNAPSHOT)
                rows = [self._candle(p, i, now) for i in range(end - 1, first - 1, -1)]
                events = [{"type": "snapshot", "candles": rows}] if rows else []
        if events:
            await self._raw(conn, self._envelope(conn, "l2_data" if channel == "level2" else channel, events))

    async def _update(self, conn: _Conn, channel: str, p: CoinbaseProduct, state: dict[str, Any]) -> None:
        now = self.sim.now()
        series = self.sim.engine.series[p.symbol]
        events: list[dict[str, Any]] = []
        with self.sim.engine.lock:
            if channel in ("ticker", "ticker_batch"):
                key = (series.started(now), series.closed(now))
                if key != state.get("key"):
                    state["key"] = key
                    ticker = self._ticker(p, now, batch=channel == "ticker_batch")
                    if ticker:
                        events = [{"type": "update", "tickers": [ticker]}]
            elif channel == "level2":
                old_asks, old_bids = state["book"]
                asks, bids = self._levels(p, now)
                if (asks, bids) != (old_asks, old_bids):
                    state["book"] = (asks, bids)
                    stamp = kf.iso(now)
                    updates = _diff("bid", old_bids, bids, stamp) + _diff("offer", old_asks, asks, stamp)
                    events = [{"type": "update", "product_id": p.product_id, "updates": updates}]
            elif channel == "market_trades":
                closed = series.closed(now)
                if closed > state["closed"]:
                    trades = self._trades(p, max(state["closed"], closed - 250), now)
                    state["closed"] = closed
                    if trades:
                        events = [{"type": "update", "trades": trades}]
            else:  # candles
                end, closed = series.started(now), series.closed(now)
                prev_end, prev_closed = state["sent"]
                if (end, closed) != (prev_end, prev_closed):
                    state["sent"] = (end, closed)
                    first = max(min(prev_closed, prev_end), end - CANDLES_SNAPSHOT, 0)
                elif self.sim.push_hz > 0 and end > closed:  # the forming candle, between boundaries
                    first = end - 1
                else:
                    first = end
                rows = [self._candle(p, i, now) for i in range(end - 1, first - 1, -1)]
                if rows:
                    events = [{"type": "update", "candles": rows}]
        if events:
            msg = self._envelope(conn, "l2_data" if channel == "level2" else channel, events)
            await self._data(conn, msg)

    # --- payloads -------------------------------------------------------------------------------
    def _levels(self, p: CoinbaseProduct, now: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(asks, bids) as (price, size) strings: the REST `product_book`'s levels."""
        asks, bids = _book(self.sim, p, now, BOOK_DEPTH)
        return [(a["price"], a["size"]) for a in asks], [(b["price"], b["size"]) for b in bids]

    def _ticker(self, p: CoinbaseProduct, now: int, batch: bool) -> dict[str, Any] | None:
        series = self.sim.engine.series[p.symbol]
        price = series.price_at(now)
        if price is None:
            return None
        pd = p.pair.pair_decimals
        info = product_info(p, series, now)
        stats = kf.ticker(series, now, price, price, pd)
        lo52, hi52 = self._year(p, now)
        out: dict[str, Any] = {
            "type": "ticker",
            "product_id": p.product_id,
            "price": fmt(price, pd),
            "volume_24_h": info["volume_24h"],
            "low_24_h": stats["l"][1],
            "high_24_h": stats["h"][1],
            "low_52_w": fmt(lo52, pd),
            "high_52_w": fmt(hi52, pd),
            "price_percent_chg_24_h": info["price_percentage_change_24h"],
        }
        if not batch:  # the production ticker_batch omits the best bid/ask
            asks, bids = self._levels(p, now)
            out |= {
                "best_bid": bids[0][0] if bids else "",
                "best_bid_quantity": bids[0][1] if bids else "",
                "best_ask": asks[0][0] if asks else "",
                "best_ask_quantity": asks[0][1] if asks else "",
            }
        return out

    def _year(self, p: CoinbaseProduct, now: int) -> tuple[Decimal, Decimal]:
        """(low, high) of the last 52 weeks of candles as known at `now` (cached per candle state)."""
        series = self.sim.engine.series[p.symbol]
        lo, end, closed = series.first_after(now - YEAR_MS - 1), series.started(now), series.closed(now)
        key = (p.symbol, lo, end, closed)
        hit = self._year_range.get(key)
        if hit is None:
            lows, highs = [], []
            for i in range(lo, end):
                _o, h, low, _c, _v = kf.forming_row(series, i, now)
                lows.append(Decimal(low))
                highs.append(Decimal(h))
            hit = (min(lows), max(highs)) if lows else (Decimal(0), Decimal(0))
            if len(self._year_range) > 1000:
                self._year_range.clear()
            self._year_range[key] = hit
        return hit

    def _trades(self, p: CoinbaseProduct, first: int, now: int) -> list[dict[str, Any]]:
        """The synthetic trades of closed candles from index `first` on, newest first."""
        series = self.sim.engine.series[p.symbol]
        if first >= series.closed(now):
            return []
        since_s = series.ts[first] // 1000
        rows = kf.public_trades(series, since_s, 4 * (series.closed(now) - first) + 4, now)
        return [
            {
                "trade_id": str(t[6]),
                "product_id": p.product_id,
                "price": t[0],
                "size": t[1],
                "side": "BUY" if t[3] == "b" else "SELL",
                "time": kf.iso(int(t[2] * 1000)),
            }
            for t in reversed(rows)
        ]

    def _candle(self, p: CoinbaseProduct, i: int, now: int) -> dict[str, str]:
        return candle(self.sim.engine.series[p.symbol], i, now) | {"product_id": p.product_id}


def _levels(side: str, levels: list[tuple[str, str]], stamp: str) -> list[dict[str, str]]:
    return [{"side": side, "event_time": stamp, "price_level": px, "new_quantity": q} for px, q in levels]


def _diff(
    side: str, old: list[tuple[str, str]], new: list[tuple[str, str]], stamp: str
) -> list[dict[str, str]]:
    """A book side's update: changed or new levels with their size, vanished ones with "0"."""
    new_map, old_map = dict(new), dict(old)
    gone = [(px, "0") for px, _q in old if px not in new_map]
    changed = [(px, q) for px, q in new if old_map.get(px) != q]
    return _levels(side, gone + changed, stamp)
