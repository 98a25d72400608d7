"""The exchange simulator process: a venue's REST (+ WebSocket) on one aiohttp app, in-process or standalone.

`ReplaySimulator` is the venue-neutral part (replay clock, matching engine, faults, accounts, serving);
`KrakenSimulator` speaks Kraken's API on top of it, `CoinbaseSimulator` (coinbase.py) Coinbase's.

In tests it runs on 127.0.0.1 with an ephemeral port, either on the test's event loop
(`await sim.start()`) or on its own thread (`with sim.running():`) for synchronous clients such as
ccxt's REST classes. `advance()` moves the replay clock and lets the engine and streams catch up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Self

from aiohttp import web

from aitrader.venues.simulator.engine import Account, MatchingEngine
from aitrader.venues.simulator.faults import FaultInjector, FaultSpec
from aitrader.venues.simulator.kraken_auth import NonceGuard
from aitrader.venues.simulator.kraken_pairs import KrakenAsset, kraken_asset
from aitrader.venues.simulator.kraken_rest import KrakenRest
from aitrader.venues.simulator.market_data import Series


class ReplaySimulator:
    """Replayed candles, matching engine, faults and accounts behind an aiohttp app; venues add routes."""

    def __init__(
        self,
        series: Sequence[Series],
        *,
        start_ms: int | None = None,
        speed: float = 0.0,
        faults: FaultSpec | FaultInjector | None = None,
        max_volume_share: Decimal | None = None,
        hang_s: float = 30.0,
        id_seed: int = 0,
        push_hz: float = 0.0,
    ) -> None:
        """`push_hz` > 0: with a running clock, also wake the streams that many times a (real) second
        between candle boundaries, so the OHLC channel sends the forming candle's update each time (as
        Kraken does on each trade); 0 = updates on candle opens/closes only."""
        from aitrader.venues.simulator.clock import ReplayClock

        if push_hz < 0:
            raise ValueError("push_hz must be >= 0")

        if not series:
            raise ValueError("the simulator needs at least one candle series")
        by_symbol = {s.symbol: s for s in series}
        if len(by_symbol) != len(series):
            raise ValueError("two series for the same symbol")
        self.faults = faults if isinstance(faults, FaultInjector) else FaultInjector(faults)
        self.engine = MatchingEngine(
            by_symbol,
            self.faults,
            max_volume_share=max_volume_share,
            id_seed=id_seed,
            **self._engine_options(by_symbol),
        )
        first = min(s.ts[0] for s in series)
        self.clock = ReplayClock(first if start_ms is None else start_ms, speed)
        self.hang_s = hang_s
        self.push_hz = push_hz
        self.requests: list[tuple[float, str, str, dict[str, str]]] = []  # (monotonic s, api, method, query)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._version = 0
        self._changed: asyncio.Event | None = None
        self._ticker_task: asyncio.Task[None] | None = None
        self._market_state: tuple[int, ...] = ()
        self._setup_venue()

    def _setup_venue(self) -> None:
        """Venue state beyond the core (nonce guards, WebSocket hubs...), set up at the end of __init__."""

    def _engine_options(self, series: dict[str, Series]) -> dict[str, Any]:
        """Venue-specific MatchingEngine arguments (listings, fees); Kraken's defaults if empty."""
        return {}

    def routes(self) -> list[web.RouteDef]:
        """The venue's API (REST and WebSocket routes)."""
        raise NotImplementedError

    async def _close_streams(self) -> None:
        """Close the venue's open WebSocket connections before the server stops."""

    # --- time and market ------------------------------------------------------------------------
    def now(self) -> int:
        now = self.clock.now()
        self.engine.sync(now)
        return now

    def advance(self, ms: int) -> int:
        """Move the replay clock forward; fills happen and streams update before this returns."""
        self.clock.advance(ms)
        return self._after_clock_move()

    def advance_to(self, ts_ms: int) -> int:
        self.clock.advance_to(ts_ms)
        return self._after_clock_move()

    def _after_clock_move(self) -> int:
        now = self.now()
        self.market_changed()
        return now

    def market_changed(self) -> None:
        """Wake the WebSocket pumps (safe to call from any thread)."""
        self.run_on_loop(self._notify)

    def run_on_loop(self, fn: Callable[..., object], *args: Any) -> None:
        """`fn(*args)` on the server's loop: at once when called on it, else handed over thread-safely
        (the matching engine runs on test and replay threads); dropped when no loop is serving."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    def _notify(self) -> None:
        self._version += 1
        event, self._changed = self._changed, asyncio.Event()
        if event is not None:
            event.set()

    async def wait_change(self, seen: int, timeout: float) -> int:
        """Wait until the market changed after version `seen` (or timeout); returns the version."""
        event = self._changed
        if self._version != seen or event is None:
            return self._version
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self._version

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def version(self) -> int:
        return self._version

    def _state(self) -> tuple[int, ...]:
        now = self.clock.now()
        return tuple(x for s in self.engine.series.values() for x in (s.started(now), s.closed(now)))

    async def _tick(self) -> None:
        """With a running clock, notice candle opens/closes and order expiries and wake the streams (each
        tick with push_hz)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            period = 1.0 / self.push_hz if self.push_hz > 0 else 0.05
            due = max(due + period, loop.time() - period)  # a steady rate; no catch-up burst after a stall
            await asyncio.sleep(max(0.0, due - loop.time()))
            if self.clock.speed <= 0:
                continue
            state = self._state()
            expiry = self.engine.next_expiry()
            expiring = expiry is not None and expiry <= self.clock.now()  # a GTD order's time is up
            if state != self._market_state or self.push_hz > 0 or expiring:
                self._market_state = state
                self.now()
                self._notify()

    # --- accounts -------------------------------------------------------------------------------
    def add_account(
        self,
        balances: Mapping[str, Decimal | str | int],
        api_key: str | None = None,
        secret: str | None = None,
    ) -> Account:
        """Register an API key (random if not given) with starting balances in unified codes."""
        key = api_key or secrets.token_urlsafe(24)
        sec = secret or base64.b64encode(secrets.token_bytes(64)).decode()
        return self.engine.add_account(key, sec, {k: Decimal(str(v)) for k, v in balances.items()})

    def log_request(self, api: str, method: str, query: dict[str, str] | None = None) -> None:
        self.requests.append((time.monotonic(), api, method, dict(query or {})))

    # --- serving --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes(self.routes())
        app.add_routes([web.post("/sim/advance", self._http_advance), web.get("/sim/time", self._http_time)])
        return app

    async def _http_advance(self, request: web.Request) -> web.Response:
        ms = int(request.query.get("ms", "0"))
        return web.json_response({"now": self.advance(ms)})

    async def _http_time(self, request: web.Request) -> web.Response:
        return web.json_response({"now": self.now(), "speed": self.clock.speed})

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._host = host
        self._ticker_task = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker_task is not None:
            self._ticker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker_task
        await self._close_streams()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """REST base, e.g. http://127.0.0.1:PORT (give it to `make_exchange(api_url=...)`)."""
        return f"http://{self._host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """WebSocket base, e.g. ws://127.0.0.1:PORT (give it to `make_exchange(ws_url=...)`)."""
        return f"ws://{self._host}:{self._port}"

    @contextlib.contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[Self]:
        """Serve on a background thread with its own event loop (for synchronous clients)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        stop: asyncio.Future[None] | None = None
        failure: list[BaseException] = []

        async def main() -> None:
            nonlocal stop
            try:
                await self.start(host, port)
            except BaseException as e:  # report to the caller's thread
                failure.append(e)
                started.set()
                return
            stop = loop.create_future()
            started.set()
            await stop
            await self.stop()

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        started.wait(10)
        if failure:
            raise failure[0]
        try:
            yield self
        finally:
            if stop is not None:
                fut = stop

                def finish() -> None:
                    if not fut.done():
                        fut.set_result(None)

                loop.call_soon_threadsafe(finish)
            thread.join(10)
            loop.close()


class KrakenSimulator(ReplaySimulator):
    """Kraken's REST (`/0/public`, `/0/private`) and WebSocket v1/v2 APIs over the replay."""

    def _setup_venue(self) -> None:
        self.nonces = NonceGuard()
        self.ws_tokens: dict[str, str] = {}
        from aitrader.venues.simulator.kraken_ws import KrakenWs

        self.ws = KrakenWs(self)

    def asset(self, code: str) -> KrakenAsset:
        return kraken_asset(code)

    def routes(self) -> list[web.RouteDef]:
        return [*KrakenRest(self).routes(), *self.ws.routes()]

    async def _close_streams(self) -> None:
        await self.ws.close_all()
