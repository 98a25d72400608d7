"""The sending side of one simulated exchange socket, with the WS faults (Kraken's and Coinbase's alike).

`send` writes a message, held back by the latency fault (`ws_delay_ms` + jitter) when it is on: each
delayed message is due no earlier than the one before it, so a connection keeps its order.
`send_update` is for channel updates, which the drop / reorder / duplicate faults may strike
(snapshots, acks and heartbeats go through `send` and are never faulted).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from aitrader.venues.simulator.faults import FaultInjector


@dataclass(eq=False)
class WsConn:
    """One server-side socket; the exchanges' connection types add their subscription state."""

    ws: web.WebSocketResponse
    held: dict[str, Any] | None = None  # an update the reorder fault holds back until the next one
    outbox: deque[tuple[float, str]] = field(default_factory=deque)  # (loop time due, text), delayed
    last_due: float = 0.0
    sender: asyncio.Task[None] | None = None

    def close_sender(self) -> None:
        if self.sender is not None:
            self.sender.cancel()


async def send(conn: WsConn, faults: FaultInjector, msg: dict[str, Any]) -> None:
    if conn.ws.closed:
        return
    text = json.dumps(msg)
    delay = faults.ws_delay_s()
    if delay <= 0 and not conn.outbox:
        with contextlib.suppress(ConnectionError, RuntimeError):  # the peer went away meanwhile
            await conn.ws.send_str(text)
        return
    due = max(asyncio.get_running_loop().time() + delay, conn.last_due)
    conn.last_due = due
    conn.outbox.append((due, text))
    if conn.sender is None:
        conn.sender = asyncio.create_task(_send_due(conn))


async def _send_due(conn: WsConn) -> None:
    """Send the delayed messages of one connection, each at its due time, in order."""
    loop = asyncio.get_running_loop()
    try:
        while conn.outbox:
            due, _text = conn.outbox[0]
            await asyncio.sleep(max(0.0, due - loop.time()))
            _due, text = conn.outbox.popleft()
            if conn.ws.closed:
                conn.outbox.clear()
                return
            await conn.ws.send_str(text)
    except (ConnectionError, RuntimeError):
        conn.outbox.clear()  # the peer went away: what was still in flight is lost
    finally:
        conn.sender = None


async def send_update(conn: WsConn, faults: FaultInjector, msg: dict[str, Any]) -> None:
    if faults.strike("drop_ws"):
        await conn.ws.close()
        return
    if faults.strike("reorder_ws") and conn.held is None:
        conn.held = msg
        return
    await send(conn, faults, msg)
    if faults.strike("duplicate_ws"):
        await send(conn, faults, msg)
    if conn.held is not None:
        held, conn.held = conn.held, None
        await send(conn, faults, held)
