"""`/ws/live`: the dashboard's live state stream (see `api/hub.py`).

Authenticated at the handshake (session cookie or bearer key, read scope); a refused handshake is
closed with 1008 before it is accepted, which the client sees as HTTP 403. The credential is checked
again before a message once `RECHECK_S` has passed since the last check, so a socket of a revoked key
or an expired session is closed within about `RECHECK_S` + the authenticator's 2 s cache bound + one
live interval. A re-check is a cache hit almost always (`auth.Authenticator`), so it can be frequent.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from aitrader.api.auth import Authenticator, presented_credential, websocket_principal
from aitrader.api.hub import LiveHub

router = APIRouter()

RECHECK_S = 2.0


@router.websocket("/ws/live")
async def live(ws: WebSocket) -> None:
    principal = await websocket_principal(ws, "read")
    if principal is None:
        await ws.close(code=1008, reason="missing or invalid credentials")
        return
    hub: LiveHub = ws.app.state.hub
    authn: Authenticator = ws.app.state.authenticator
    cred = presented_credential(ws)
    assert cred is not None
    await ws.accept()
    sub = hub.subscribe(principal.tenant_id)
    loop = asyncio.get_running_loop()

    async def pump() -> None:
        next_check = loop.time() + RECHECK_S
        while True:
            text = await sub.queue.get()
            if loop.time() >= next_check:
                if await authn.resolve(cred.value) is None:
                    await ws.close(code=1008, reason="credentials expired or revoked")
                    return
                next_check = loop.time() + RECHECK_S
            await ws.send_text(text)

    async def drain() -> None:
        # the client sends nothing we need; reading notices the disconnect
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await ws.receive_text()

    sender = asyncio.create_task(pump())
    reader = asyncio.create_task(drain())
    try:
        await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.unsubscribe(sub)
        for t in (sender, reader):
            t.cancel()
        for t in (sender, reader):
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await t
