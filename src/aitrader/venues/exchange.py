"""CcxtVenue: the live `core.ports.Venue` over a ccxt.pro exchange client.

Why it looks like this:
- The engine is synchronous and must never wait on the network, so the venue runs its own asyncio
  loop on a thread: `submit`/`cancel` only schedule work there and return; acknowledgements, fills
  and final states come back through `drain_events` (sorted out by `execution.tracking`).
- Our own orders and fills come from the WebSocket private stream (`watch_orders`,
  `watch_my_trades`), one connection under `data.live.supervisor.StreamSupervisor` like the market
  data (state machine, jittered backoff, one subscription per channel); a REST poll
  (`fetch_open_orders`, `fetch_order`, `fetch_order_trades`, `fetch_balance`) covers whatever a
  dropped or reordered message lost. Fills are de-duplicated by trade id, so both paths may report
  the same trade.
- Every order carries our client id (Kraken `cl_ord_id`, Coinbase `client_order_id`; ccxt's
  unified `clientOrderId`). Creating an order is not idempotent, so a create that fails in a way
  that leaves its outcome unknown (timeout, 5xx, connection reset, 429) is resolved by looking the
  order up by client id *before* any retry: a retried submit never creates a second order.
  Reads and cancels are idempotent and are retried with jittered backoff (`execution.retries`).
- Stops are engine-side triggers (`execution.trailing`): on a crossing price the venue sends a
  market order under the stop's own client id. Take-profits are triggers too, unless
  `take_profit_with_limit` is set, in which case they rest on the exchange as limit orders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import ccxt

from aitrader.core.candles import Candle
from aitrader.core.clock import Clock, WallClock
from aitrader.core.orders import Fill, Order, OrderPurpose, OrderRequest, OrderStatus, OrderType, Side
from aitrader.core.ports import VenueEvent
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.supervisor import Channel, StreamSupervisor
from aitrader.execution.retries import ErrorKind, RetriesExhausted, RetryPolicy, classify, retry_idempotent
from aitrader.execution.tracking import OrderTracker
from aitrader.execution.trailing import TriggerBook
from aitrader.metrics import ORDER_ROUNDTRIP_SECONDS

log = logging.getLogger(__name__)
T = TypeVar("T")

_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


@dataclass(slots=True)
class VenueStats:
    """Counters an operator (and a test) can read: how hard the exchange pushed back."""

    submits: int = 0
    create_calls: int = 0
    ambiguous_submits: int = 0
    resolved_by_lookup: int = 0
    retries: int = 0
    rate_limited: int = 0
    refused: int = 0
    ws_errors: int = 0
    polls: int = 0
    foreign_trades: int = 0
    triggers_fired: int = 0


def dec(value: Any) -> Decimal:
    """A ccxt number (float, str or None) as Decimal via its shortest repr."""
    return Decimal(0) if value is None else Decimal(str(value))


def expiry_params(exchange_id: str, expire_ms: int | None) -> dict[str, str]:
    """create_order params asking `exchange_id` to expire the order itself at `expire_ms`.

    Kraken: ccxt's unified `timeInForce=GTD` with `expiretm` in unix seconds, rounded up (never
    earlier than asked). Exchanges without a mapping here get no expiry sent: the engine's own timeout still
    cancels the order while the process runs."""
    if expire_ms is None or exchange_id != "kraken":
        return {}
    return {"timeInForce": "GTD", "expiretm": str(-(-expire_ms // 1000))}


def client_id_of(order: dict[str, Any]) -> str | None:
    """Our client id in a parsed ccxt order (REST: `clientOrderId`; Kraken WS: `info.cl_ord_id`)."""
    info = order.get("info") or {}
    cid = info.get("cl_ord_id") if isinstance(info, dict) else None
    return str(cid) if cid else (order.get("clientOrderId") or None)


def filled_of(order: dict[str, Any]) -> Decimal:
    info = order.get("info") or {}
    for key in ("vol_exec", "cum_qty"):
        if isinstance(info, dict) and info.get(key) is not None:
            return dec(info[key])
    return dec(order.get("filled"))


class CcxtVenue:
    """See the module docstring. `make_client` builds the ccxt.pro client inside the venue's loop."""

    def __init__(
        self,
        make_client: Callable[[], Any],
        *,
        clock: Clock | None = None,
        policy: RetryPolicy | None = None,
        triggers: TriggerBook | None = None,
        take_profit_with_limit: bool = False,
        poll_interval_ms: int = 2_000,
        use_ws: bool = True,
        backoff: Callable[[], Backoff] = Backoff,
    ) -> None:
        self._make_client = make_client
        self.clock: Clock = clock or WallClock()
        self.policy = policy or RetryPolicy()
        self.triggers = triggers or TriggerBook()
        self.take_profit_with_limit = take_profit_with_limit
        self.poll_interval_ms = poll_interval_ms
        self.use_ws = use_ws
        self._backoff = backoff
        self.streams: StreamSupervisor | None = None  # the private stream, built at start when use_ws
        self.tracker = OrderTracker()
        self.stats = VenueStats()
        self.errors: list[str] = []
        self.client: Any = None
        self._balances: dict[str, Decimal] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._poke: asyncio.Event | None = None
        self._closing = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = 30.0) -> CcxtVenue:
        """Start the loop thread, load markets and balances, start the streams and the poller."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="ccxt-venue", daemon=True)
        self._thread.start()
        self.call(self._startup, timeout_s)
        return self

    async def _startup(self) -> None:
        self.client = self._make_client()
        self._poke = asyncio.Event()
        await self._read(lambda: self.client.load_markets())
        await self._refresh_balances()
        if self.use_ws:
            self.streams = self._private_streams()
            self._tasks.append(asyncio.create_task(self.streams.serve(), name="venue:private-stream"))
        self._tasks.append(asyncio.create_task(self._poll_forever()))

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._closing = True
        with contextlib.suppress(Exception):
            self.call(self._shutdown, 10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    async def _shutdown(self) -> None:
        for fut in list(self._inflight.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(fut), 5)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()

    def __enter__(self) -> CcxtVenue:
        return self.start() if self._loop is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout_s: float = 30.0) -> T:
        """Run `fn()` on the venue loop and wait for it (for the reconciler, startup and tests)."""
        assert self._loop is not None, "venue not started"
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout_s)

    def _spawn(self, cid: str, coro: Coroutine[Any, Any, None]) -> None:
        """Schedule `coro` after any earlier operation on the same client id (submit before cancel)."""
        assert self._loop is not None, "venue not started"

        async def chained(prev: asyncio.Future[None] | None) -> None:
            if prev is not None:
                with contextlib.suppress(BaseException):
                    await prev
            await coro

        def schedule() -> None:
            prev = self._inflight.get(cid)
            task = asyncio.ensure_future(chained(prev))
            self._inflight[cid] = task
            task.add_done_callback(lambda t: self._done(cid, t))

        self._loop.call_soon_threadsafe(schedule)

    def _done(self, cid: str, task: asyncio.Future[None]) -> None:
        if self._inflight.get(cid) is task:
            del self._inflight[cid]
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(f"{cid}: {task.exception()!r}")
            log.error("venue operation on %s failed: %r", cid, task.exception())

    def idle(self) -> bool:
        """No submit/cancel in flight (tests and orderly shutdown wait for this)."""
        return not self._inflight

    # ------------------------------------------------------------------ Venue protocol

    def submit(self, request: OrderRequest) -> None:
        with self._lock:
            known = self.tracker.view(request.client_id)
            self.tracker.track(request)
        if known is not None:
            return  # one client id, one order: a repeated submit sends nothing
        self.stats.submits += 1
        if self._is_trigger(request):
            self.triggers.arm(request, self.clock.now())
            self.tracker.ack(request.client_id, None, self.clock.now())
            return
        self._spawn(request.client_id, self._submit(request))

    def cancel(self, client_id: str) -> None:
        view = self.tracker.view(client_id)
        if view is None or view.done:
            return
        if self.triggers.disarm(client_id):
            self.tracker.finish_locally(
                client_id, OrderStatus.CANCELLED, self.clock.now(), "trigger disarmed"
            )
            return
        self._spawn(client_id, self._cancel(client_id))

    def on_candle(self, symbol: str, candle: Candle) -> None:
        """Closed candles drive the engine-side triggers (stops, trailing stops, market take-profits)."""
        self.on_price(symbol, dec(candle.high), dec(candle.low), dec(candle.close), candle.ts)

    def on_tick(self, symbol: str, price: float, ts: int) -> None:
        """A streamed last price (ticker) checks the triggers between candles: a stop fires when the
        market reaches it, not at the close of the candle in which it did."""
        if price == price and price > 0:  # not NaN, not a placeholder
            p = dec(price)
            self.on_price(symbol, p, p, p, ts)

    def on_price(self, symbol: str, high: Decimal, low: Decimal, close: Decimal, ts: int) -> None:
        for trig in self.triggers.on_price(symbol, high, low, close, ts):
            self.stats.triggers_fired += 1
            self._spawn(trig.client_id, self._submit(trig.market_request(self.clock.now())))

    def drain_events(self) -> list[VenueEvent]:
        return self.tracker.drain()

    def balances(self) -> dict[str, Decimal]:
        with self._lock:
            return dict(self._balances)

    def restore(self, orders: Iterable[Order]) -> None:
        """After a restart: keep tracking our non-final orders (from storage) as already acknowledged,
        so their fills and final states flow again; armed triggers were restored by the TriggerBook."""
        for order in orders:
            if order.status.is_terminal:
                continue
            view = self.tracker.track(order.request)
            view.acked = order.status is not OrderStatus.NEW
            view.fills_qty = view.remote_filled = order.filled
            for f in order.fills:
                self.tracker._fill_ids.add(f.fill_id)
            if order.venue_id:
                self.tracker._set_venue_id(view, order.venue_id)
        self.poke()

    def poke(self) -> None:
        """Ask the poller to run now (after a reconnect, a restore, or from a test)."""
        if self._loop is not None and self._poke is not None:
            self._loop.call_soon_threadsafe(self._poke.set)

    def _is_trigger(self, req: OrderRequest) -> bool:
        if req.type is OrderType.STOP_MARKET:
            return True
        return (
            req.type is OrderType.LIMIT
            and req.purpose is OrderPurpose.TAKE_PROFIT
            and not self.take_profit_with_limit
        )

    # ------------------------------------------------------------------ requests (venue loop)

    @property
    def _rate_limit_ms(self) -> float:
        return float(getattr(self.client, "rateLimit", 0) or 0)

    def _on_retry(self, kind: ErrorKind, exc: BaseException) -> None:
        self.stats.retries += 1
        if kind is ErrorKind.RATE_LIMITED:
            self.stats.rate_limited += 1

    async def _read(self, call: Callable[[], Awaitable[T]]) -> T:
        return await retry_idempotent(call, self.policy, self._rate_limit_ms, self._on_retry)

    async def _submit(self, req: OrderRequest) -> None:
        cid = req.client_id
        attempt = 0
        while True:
            attempt += 1
            self.stats.create_calls += 1
            sent = time.perf_counter()
            try:
                created = await self.client.create_order(
                    req.symbol,
                    "market" if req.type is OrderType.MARKET else "limit",
                    req.side.value,
                    float(req.amount),
                    None if req.type is OrderType.MARKET or req.price is None else float(req.price),
                    {"clientOrderId": cid, **expiry_params(str(self.client.id), req.expire_ms)},
                )
            except Exception as e:
                kind = classify(e)
                if kind is ErrorKind.REFUSED:
                    self.stats.refused += 1
                    self.tracker.finish_locally(cid, OrderStatus.REJECTED, self.clock.now(), _reason(e))
                    return
                self._on_retry(kind, e)
                self.stats.ambiguous_submits += 1
                # the exchange may have accepted it: find out before sending it again
                await asyncio.sleep(self.policy.delay_ms(attempt, kind, self._rate_limit_ms) / 1000)
                found = await self._lookup_resolved(req)
                if found is not None:
                    self.stats.resolved_by_lookup += 1
                    await self._apply_order(found, cid)
                    return
                if attempt >= self.policy.max_attempts:
                    self.tracker.finish_locally(
                        cid,
                        OrderStatus.REJECTED,
                        self.clock.now(),
                        f"not placed after {attempt} tries: {_reason(e)}",
                    )
                    return
                continue
            ORDER_ROUNDTRIP_SECONDS.labels(venue=str(self.client.id)).observe(time.perf_counter() - sent)
            venue_id = created.get("id")
            self.tracker.ack(cid, venue_id, self.clock.now())
            if created.get("status") is not None:
                await self._apply_order(created, cid)
            return

    async def _lookup_resolved(self, req: OrderRequest) -> dict[str, Any] | None:
        """Look the order up until the answer is definite (found / not there); reads are retried."""
        while True:
            try:
                return await self.lookup(req.client_id, req.symbol)
            except RetriesExhausted as e:
                self.errors.append(f"{req.client_id}: lookup failed, trying again: {e}")

    async def lookup(self, client_id: str, symbol: str | None = None) -> dict[str, Any] | None:
        """Our order on the exchange by client id (open orders first, then closed), or None."""
        params = {"clientOrderId": client_id}
        fetchers: list[Callable[..., Awaitable[list[dict[str, Any]]]]] = [
            self.client.fetch_open_orders,
            self.client.fetch_closed_orders,
        ]
        for fetch in fetchers:
            got = await self._read(partial(fetch, symbol, None, None, dict(params)))
            for o in got:
                if client_id_of(o) == client_id:
                    return dict(o)
        return None

    async def resolve(self, client_id: str) -> bool:
        """Look one of our orders up by client id and adopt what the exchange says (state and fills);
        False when the exchange does not know it."""
        view = self.tracker.view(client_id)
        if view is None:
            return False
        found = await self._lookup_resolved(view.request)
        if found is None:
            return False
        await self._apply_order(found, client_id)
        return True

    async def remote_open_orders(self) -> list[dict[str, Any]]:
        return list(await self._read(lambda: self.client.fetch_open_orders()))

    async def _cancel(self, cid: str) -> None:
        view = self.tracker.view(cid)
        if view is None or view.done:
            return
        req = view.request
        try:
            await self._read(
                lambda: self.client.cancel_order(view.venue_id, req.symbol, {"clientOrderId": cid})
            )
        except ccxt.OrderNotFound:
            pass  # already final, or never placed: the lookup below says which
        except RetriesExhausted as e:
            self.errors.append(f"{cid}: cancel failed: {e}")
            return
        found = await self._lookup_resolved(req)
        if found is not None:
            await self._apply_order(found, cid)
        elif view.venue_id is None and not view.acked:
            self.tracker.finish_locally(cid, OrderStatus.CANCELLED, self.clock.now(), "never placed")

    # ------------------------------------------------------------------ reports -> tracker

    async def _apply_order(self, order: dict[str, Any], cid: str | None = None) -> None:
        cid = cid or client_id_of(order)
        if cid is None or self.tracker.view(cid) is None:
            return  # not ours (placed by hand, or by another process)
        raw = order.get("status")
        status = _STATUS.get(str(raw)) if raw is not None else None
        if status is None:
            return
        ts = int(order.get("lastUpdateTimestamp") or order.get("timestamp") or self.clock.now())
        info = order.get("info") or {}
        reason = str(info.get("reason") or "") if isinstance(info, dict) else ""
        self.tracker.report(cid, order.get("id"), status, filled_of(order), ts, reason)
        view = self.tracker.view(cid)
        if view is not None and view.missing_fills and view.venue_id:
            await self._fetch_fills(cid)

    async def _fetch_fills(self, cid: str) -> None:
        """Fetch the trades of one order that the streams did not deliver.

        Kraken's `fetchOrderTrades` needs the order's trade ids (from `fetch_order`); exchanges
        without it fall back to our trade history since the order was placed, filtered by order id.
        """
        view = self.tracker.view(cid)
        if view is None or view.venue_id is None:
            return
        vid, sym = view.venue_id, view.request.symbol
        order = await self._read(lambda: self.client.fetch_order(vid, sym))
        ids = [str(t.get("id")) for t in order.get("trades") or [] if t.get("id")]
        missing = [i for i in ids if not self.tracker.seen_fill(i)]
        if ids and not missing:
            return
        try:
            trades = await self._read(
                lambda: self.client.fetch_order_trades(vid, sym, None, None, {"trades": missing})
            )
        except (ccxt.NotSupported, ccxt.ArgumentsRequired):
            since = order.get("timestamp")
            history = await self._read(lambda: self.client.fetch_my_trades(sym, since))
            trades = [t for t in history if t.get("order") == vid]
        for t in trades:
            await self._apply_trade(t)

    async def _apply_trade(self, trade: dict[str, Any]) -> None:
        tid = trade.get("id")
        if not tid or self.tracker.seen_fill(str(tid)):
            return
        vid = trade.get("order")
        cid = self.tracker.client_for_venue(str(vid)) if vid else None
        if cid is None and vid:
            # a trade of an order whose acknowledgement we have not seen: ask the exchange whose it is
            order = await self._read(lambda: self.client.fetch_order(vid, trade.get("symbol")))
            cid = client_id_of(order)
            if cid is not None and self.tracker.view(cid) is not None:
                self.tracker.ack(cid, str(vid), self.clock.now())
        view = self.tracker.view(cid) if cid else None
        if view is None:
            self.stats.foreign_trades += 1
            return
        info = trade.get("info") or {}
        fee = trade.get("fee") or {}
        amount = (
            dec(info.get("vol")) if isinstance(info, dict) and info.get("vol") else dec(trade.get("amount"))
        )
        price = (
            dec(info.get("price"))
            if isinstance(info, dict) and info.get("price")
            else dec(trade.get("price"))
        )
        fee_cost = (
            dec(info.get("fee")) if isinstance(info, dict) and info.get("fee") else dec(fee.get("cost"))
        )
        self.tracker.fill(
            Fill(
                fill_id=str(tid),
                client_id=view.request.client_id,
                symbol=view.request.symbol,
                side=Side(str(trade.get("side") or view.request.side.value)),
                amount=amount,
                price=price,
                fee=fee_cost,
                fee_currency=str(fee.get("currency") or ""),
                ts=int(trade.get("timestamp") or self.clock.now()),
                is_maker=trade.get("takerOrMaker") == "maker",
            )
        )

    # ------------------------------------------------------------------ streams and polling

    def _private_streams(self) -> StreamSupervisor:
        """Own orders and fills on the private socket, under the same supervised lifecycle as the
        market data (connecting -> subscribed -> streaming -> backoff -> resubscribe; one
        subscription per channel, counted in the `ws_subscriptions` gauge). Both channels stay silent
        until something happens, so "subscribed" means the socket is open."""
        c = self.client
        sup = StreamSupervisor(
            c, "private", backoff=self._backoff(), warmup=self._stream_warmup, on_lost=self._stream_lost
        )
        sup.add(Channel("orders", "orders", c.watch_orders, self._on_orders, confirms=False))
        sup.add(Channel("my_trades", "my_trades", c.watch_my_trades, self._on_trades, confirms=False))
        return sup

    def stream_status(self) -> dict[str, Any] | None:
        """The private connection for operators (None without one): state, reconnects, subscriptions."""
        sup = self.streams
        if sup is None:
            return None
        return {"state": sup.state.value, "reconnects": sup.reconnects, "subscriptions": sup.subscriptions()}

    async def _on_orders(self, orders: list[dict[str, Any]]) -> None:
        for o in orders:
            await self._apply_order(o)

    async def _on_trades(self, trades: list[dict[str, Any]]) -> None:
        for t in trades:
            await self._apply_trade(t)

    async def _stream_warmup(self, resubscribing: bool) -> None:
        """Before a resubscribe: poll REST for whatever the dead socket did not deliver."""
        if resubscribing and self._poke is not None:
            self._poke.set()

    def _stream_lost(self, exc: BaseException) -> None:
        """A dropped socket: REST polling covers the gap until the stream resubscribes."""
        self.stats.ws_errors += 1
        log.info("private stream failed (%r); resubscribing, polling REST meanwhile", exc)
        if self._poke is not None:
            self._poke.set()

    async def _poll_forever(self) -> None:
        assert self._poke is not None
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.poll_interval_ms / 1000)
            self._poke.clear()
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.errors.append(f"poll: {e!r}")
                log.warning("REST poll failed: %r", e)

    async def poll(self) -> None:
        """One REST pass: every order whose final state we have not reported, then balances."""
        self.stats.polls += 1
        placed = [
            v
            for v in self.tracker.pending()
            if v.request.client_id not in self._inflight and self.triggers.get(v.request.client_id) is None
        ]
        if placed:
            opened = await self._read(lambda: self.client.fetch_open_orders())
            open_ids = set()
            for o in opened:
                open_ids.add(o.get("id"))
                await self._apply_order(o)
            for v in placed:
                cid = v.request.client_id
                if v.done:
                    continue
                if v.venue_id is None:
                    if v.acked:
                        continue  # a fired trigger still being placed
                    found = await self.lookup(cid, v.request.symbol)
                    if found is not None:
                        await self._apply_order(found, cid)
                    continue
                if v.venue_id not in open_ids or v.missing_fills:
                    got = await self._read(partial(self.client.fetch_order, v.venue_id, v.request.symbol))
                    await self._apply_order(got, cid)
        await self._refresh_balances()

    async def _refresh_balances(self) -> None:
        bal = await self._read(lambda: self.client.fetch_balance())
        totals = bal.get("total") or {}
        with self._lock:
            self._balances = {k: dec(v) for k, v in totals.items() if v is not None}

    def refresh_balances(self) -> dict[str, Decimal]:
        """Fetch balances now (blocking; for the reconciler and tests)."""
        self.call(self._refresh_balances)
        return self.balances()


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}"


__all__ = ["CcxtVenue", "VenueStats", "client_id_of", "dec", "filled_of"]
