"""One exchange WebSocket connection, supervised: watch loops, failure, backoff, resubscribe.

A `StreamSupervisor` owns a ccxt.pro exchange instance *for one connection* (Kraken: the public
socket, or the private one) and a fixed set of `Channel`s, each a ccxt.pro `watch_*` call and the
handler its results go to. It runs the lifecycle of `data.live.state`:

- connecting: the warm-up hook (REST history) runs, then every channel's watch loop starts; ccxt.pro
  dials once and sends one subscribe request per channel;
- subscribed: every confirming channel delivered its first message (the exchange's snapshot);
  streaming: live updates after that;
- on any error of any channel (socket closed by the server, a failed dial, a REST error in the
  warm-up): all watch loops are cancelled, the subscriptions are counted down, the connection is
  closed on our side too (so no half-dead socket keeps a subscription alive), and after an
  exponential, jittered backoff the warm-up hook backfills what was missed and the same channels
  subscribe again on a fresh socket (resubscribe).

Why the whole connection and not one channel: every channel of a socket dies with it; resubscribing
them together on one fresh socket is what guarantees exactly one live subscription per channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aitrader.core.errors import AitraderError
from aitrader.data.live.backoff import Backoff
from aitrader.data.live.state import ConnectionState, ConnectionStateMachine
from aitrader.metrics import WS_RECONNECTS, WS_SUBSCRIPTIONS

log = logging.getLogger(__name__)
S = ConnectionState


@dataclass(frozen=True, slots=True)
class Channel:
    """One subscription: `watch()` is awaited in a loop, each result goes to `handle`.

    `name` is the metric label (ohlcv, ticker, orderbook, orders, my_trades); `key` is unique per
    subscription (name + symbol + params). `confirms`: its first message is the exchange's snapshot
    confirming the subscription (private channels may stay silent until something happens).
    `handle` may be a coroutine function; the channel's next message waits for it.
    """

    name: str
    key: str
    watch: Callable[[], Awaitable[Any]]
    handle: Callable[[Any], Awaitable[None] | None]
    confirms: bool = True


class StreamInterrupted(AitraderError):
    """A watch loop ended without an exchange error (e.g. ccxt cancelled its pending future)."""


class StreamSupervisor:
    def __init__(
        self,
        exchange: Any,
        name: str,
        *,
        backoff: Backoff | None = None,
        warmup: Callable[[bool], Awaitable[None]] | None = None,
        on_lost: Callable[[Exception], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.name = name
        self.backoff = backoff or Backoff()
        self.sm = ConnectionStateMachine(name)
        self.channels: dict[str, Channel] = {}
        self.active: set[str] = set()  # channel keys confirmed on the current socket
        self.reconnects = 0
        self.errors: deque[str] = deque(maxlen=100)
        self.handler_errors = 0
        self._warmup = warmup
        self._on_lost = on_lost  # told of every lost connection (e.g. to poll REST for the gap)
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> ConnectionState:
        return self.sm.state

    def subscriptions(self) -> dict[str, int]:
        """Live subscriptions on the current socket per channel name (what the gauge counts)."""
        subs: dict[str, int] = {}
        for key in list(self.active):
            name = self.channels[key].name
            subs[name] = subs.get(name, 0) + 1
        return dict(sorted(subs.items()))

    def add(self, channel: Channel) -> bool:
        """Register a channel before `start`; the same key again is a no-op (returns False)."""
        if channel.key in self.channels:
            return False
        if self._task is not None:
            raise AitraderError(f"{self.name}: add channels before starting the stream")
        self.channels[channel.key] = channel
        return True

    def start(self) -> asyncio.Task[None]:
        """Start supervising (idempotent); the task runs until `stop`."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"stream:{self.name}")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drop_active()
        await self._close_sockets()
        if self.sm.state is not S.CLOSED:
            self.sm.to(S.CLOSED, "stopped")

    async def serve(self) -> None:
        """Run the connection in the calling task until it is cancelled, then close it (for an
        owner that supervises tasks itself, such as a trading session). A second `serve` after the
        first ended starts a fresh lifecycle."""
        if self._task is not None:
            raise AitraderError(f"{self.name}: already running as its own task")
        if self.sm.state is S.CLOSED:
            self.sm.reopen()
        try:
            await self.run()
        finally:
            self._drop_active()
            await self._close_sockets()
            if self.sm.state is not S.CLOSED:
                self.sm.to(S.CLOSED, "stopped")

    async def run(self) -> None:
        self.sm.to(S.CONNECTING)
        resubscribing = False
        while True:
            try:
                if self._warmup is not None:
                    await self._warmup(resubscribing)
                await self._session()
                err: Exception = StreamInterrupted("stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                err = e
            reason = f"{type(err).__name__}: {err}"
            self.errors.append(reason)
            log.warning("%s: connection lost (%s)", self.name, reason)
            self._drop_active()
            self.sm.to(S.BACKOFF, reason)
            if self._on_lost is not None:
                try:
                    self._on_lost(err)
                except Exception:
                    log.exception("%s: on_lost hook failed", self.name)
            await self._close_sockets()
            await asyncio.sleep(self.backoff.next_delay())
            self.reconnects += 1
            for name in sorted({c.name for c in self.channels.values()}):
                WS_RECONNECTS.labels(name).inc()
            self.sm.to(S.RESUBSCRIBE)
            resubscribing = True

    # --- one socket's life ---------------------------------------------------------------------
    async def _session(self) -> None:
        pumps = [asyncio.create_task(self._pump(ch)) for ch in self.channels.values()]
        waiter = None
        if not any(ch.confirms for ch in self.channels.values()):
            waiter = asyncio.create_task(self._await_connected())
        try:
            if not pumps:
                await asyncio.Future()  # nothing to watch: idle until stopped
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for t in [*pumps, *([waiter] if waiter else [])]:
                t.cancel()
            await asyncio.gather(*pumps, *([waiter] if waiter else []), return_exceptions=True)
        for t in done:
            exc = None if t.cancelled() else t.exception()
            if isinstance(exc, Exception):
                raise exc
        raise StreamInterrupted("a watch loop ended")

    async def _pump(self, ch: Channel) -> None:
        me = asyncio.current_task()
        while True:
            try:
                data = await ch.watch()
            except asyncio.CancelledError:
                if me is not None and me.cancelling():
                    raise  # we are being stopped
                raise StreamInterrupted(f"{ch.key}: the exchange client cancelled the watch") from None
            self._on_message(ch)
            try:
                res = ch.handle(data)
                if inspect.isawaitable(res):
                    await res
            except asyncio.CancelledError:
                raise
            except Exception:
                self.handler_errors += 1
                log.exception("%s: handler of %s failed", self.name, ch.key)

    def _on_message(self, ch: Channel) -> None:
        first = ch.key not in self.active
        if first:
            self.active.add(ch.key)
            WS_SUBSCRIPTIONS.labels(ch.name).inc()
        if self.sm.state in (S.CONNECTING, S.RESUBSCRIBE) and self._all_confirmed():
            self.sm.to(S.SUBSCRIBED, "every channel confirmed")
        if self.sm.state is S.SUBSCRIBED and (not first or not ch.confirms):
            self.sm.to(S.STREAMING)
            self.backoff.reset()

    def _all_confirmed(self) -> bool:
        return all(ch.key in self.active for ch in self.channels.values() if ch.confirms)

    async def _await_connected(self) -> None:
        """For channels that stay silent until something happens: subscribed = socket open."""
        while not self._connected():
            await asyncio.sleep(0.02)
        for ch in self.channels.values():  # silent channels count as subscribed once the socket is open
            if ch.key not in self.active:
                self.active.add(ch.key)
                WS_SUBSCRIPTIONS.labels(ch.name).inc()
        if self.sm.state in (S.CONNECTING, S.RESUBSCRIBE):
            self.sm.to(S.SUBSCRIBED, "socket open")

    def _connected(self) -> bool:
        for client in list((getattr(self.exchange, "clients", None) or {}).values()):
            fut = getattr(client, "connected", None)
            ok = fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None
            if ok and not client.closed():
                return True
        return False

    def _drop_active(self) -> None:
        for key in self.active:
            WS_SUBSCRIPTIONS.labels(self.channels[key].name).dec()
        self.active.clear()

    async def _close_sockets(self) -> None:
        """Close this exchange's sockets from our side, so the next watch dials a fresh one."""
        try:
            await self.exchange.close_ws_clients()
        except Exception as e:  # a socket that is already gone may fail to close; that is fine
            log.debug("%s: closing sockets: %s", self.name, e)
