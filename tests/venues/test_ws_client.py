"""venues.ws_client: ccxt.pro's WebSocket client handing over one frame per event-loop turn.

Against a loopback aiohttp WebSocket server that writes a burst of frames at once (so they sit in
the client's receive buffer together), through the client ccxt builds for a `make_exchange` instance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from ccxt.async_support.base.ws.client import Client

from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.ws_client import FrameByFrameClient

BURST = 200


async def _server(frames: int, rounds: int = 1) -> tuple[web.AppRunner, str]:
    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        for r in range(rounds):
            # client and server share the loop: send_str does not suspend below the transport's
            # high-water mark, so the client reads nothing until the whole burst is written
            for i in range(frames):
                await sock.send_str(f'{{"i": {r * frames + i}}}')
            await asyncio.sleep(0.05)
        async for _ in sock:
            pass
        return sock

    app = web.Application()
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"ws://127.0.0.1:{port}/ws"


async def _consume(url: str, total: int, frame_by_frame: bool) -> tuple[list[str], Any, Any]:
    """Connect a client built by a ccxt.pro exchange; every handled frame resolves a future that a
    consumer task awaits (as a watch task does). Returns the order of handled/consumed events, the
    frames left in the client's buffer and aiohttp's byte count of its queue (None if not exposed)."""
    exchange = make_exchange("kraken", pro=True)
    try:
        client = exchange.client(url)
        if not frame_by_frame:
            client.__class__ = Client
        log: list[str] = []
        waiting: asyncio.Future[int] | None = None
        done = asyncio.Event()

        def on_message(_client: Any, message: Any) -> None:
            log.append(f"h{message['i']}")
            if waiting is not None and not waiting.done():
                waiting.set_result(message["i"])

        client.on_message_callback = on_message

        async def consumer() -> None:
            nonlocal waiting
            seen = 0
            while seen < total:
                waiting = asyncio.get_running_loop().create_future()
                i = await waiting
                log.append(f"c{i}")
                seen += 1 + (i - seen)  # a frame handled while nobody waited is skipped, as watch does
            done.set()

        task = asyncio.create_task(consumer())
        await asyncio.sleep(0)
        await client.connect(exchange.session)
        await asyncio.wait_for(done.wait(), 10)
        await task
        queue = client.connection._conn.protocol._payload
        for _ in range(100):  # the last frame is read by receive(), a task of its own
            if getattr(queue, "_size", 0) == 0:
                break
            await asyncio.sleep(0.01)
        return log, len(client.buffer), getattr(queue, "_size", None)
    finally:
        await exchange.close()


async def _run(rounds: int, frame_by_frame: bool) -> tuple[list[str], Any, Any]:
    """`_consume` of `rounds` bursts of `BURST` frames from a fresh loopback server."""
    runner, url = await _server(BURST, rounds)
    try:
        return await _consume(url, BURST * rounds, frame_by_frame)
    finally:
        await runner.cleanup()


async def test_make_exchange_builds_frame_by_frame_clients() -> None:
    exchange = make_exchange("kraken", pro=True)
    try:
        assert type(exchange.client("ws://127.0.0.1:9/ws")) is FrameByFrameClient
    finally:
        await exchange.close()


async def test_each_frame_is_consumed_before_the_next_is_parsed() -> None:
    log, _, _ = await _run(1, frame_by_frame=True)
    handled = [e for e in log if e[0] == "h"]
    assert handled == [f"h{i}" for i in range(BURST)]  # every frame once, in arrival order
    # the consumer runs after each frame: handled and consumed alternate
    assert log == [x for i in range(BURST) for x in (f"h{i}", f"c{i}")]


async def test_ccxt_plain_client_parses_the_whole_buffer_first() -> None:
    """What the subclass changes: ccxt's own loop handles every buffered frame before the consumer
    runs, so the consumer misses frames (a watch sees only the latest state) and runs late."""
    log, _, _ = await _run(1, frame_by_frame=False)
    consumed = [e for e in log if e[0] == "c"]
    assert len(consumed) < BURST // 2


@pytest.mark.parametrize("rounds", [1, 3])
async def test_flow_control_bytes_are_all_released(rounds: int) -> None:
    """aiohttp's queue counts buffered bytes and pauses reading over its limit; the sizes of frames
    taken from the buffer are charged to the one `receive()` reads, so the count drains to zero."""
    log, left, size = await _run(rounds, frame_by_frame=True)
    assert [e for e in log if e[0] == "h"] == [f"h{i}" for i in range(BURST * rounds)]
    assert left == 0
    assert size in (0, None)  # None: an aiohttp build that does not expose the counter
