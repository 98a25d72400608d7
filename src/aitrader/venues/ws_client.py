"""A ccxt.pro WebSocket client that hands over one frame per event-loop turn.

Why: ccxt's `Client.receive_loop` drains aiohttp's whole receive buffer in one go: every frame of a
socket read is parsed (`exchange.handle_message`, ~40 us a Kraken OHLC frame) and resolves its
watch future before any woken watch task runs. When 50 pairs' candles close together, the frames
arrive in a few reads of 10-20 frames, so the first pair of a read waits for ccxt to parse the
other 19 before its candle reaches the cache and its decision, and each frame's decision comes
after every later frame of the read was parsed.

`FrameByFrameClient.receive_loop` handles one buffered frame and then reschedules itself with
`call_soon`, behind the watch tasks that frame woke: each frame is parsed, then its consumer runs,
then the next frame is parsed. No frame is decided later than before (the read's last frame still
waits for the work of the frames ahead of it); every earlier one is decided sooner. Nothing is
skipped or reordered: frames are handled in arrival order, once.

Flow control is kept as ccxt keeps it: aiohttp's queue counts the bytes of buffered frames and only
`read()` subtracts them, so the sizes of frames taken from the buffer directly are added to the
frame left at its head before `receive()` reads it (ccxt does the same after its drain). The
pending sizes belong to one buffer: after a reconnect they are dropped, not charged to the new one.
"""

from __future__ import annotations

from typing import Any

from ccxt.async_support.base.ws.client import MSG_SIZE_OVERHEAD, Client


class FrameByFrameClient(Client):  # type: ignore[misc]  # ccxt ships no type hints
    """ccxt's client, one frame per loop turn (module docstring). Installed by `use_frame_by_frame`."""

    _taken_from: Any = None  # the buffer the sizes in `_taken_size` were taken from
    _taken_size = 0

    def receive_loop(self) -> None:
        buf = None if self.closed() else self.buffer
        if buf is not self._taken_from:
            self._taken_from, self._taken_size = buf, 0
        if buf is not None and len(buf) > 1:
            message, size = buf.popleft()
            self._taken_size += size + MSG_SIZE_OVERHEAD
            self.handle_message(message)
            self.asyncio_loop.call_soon(self.receive_loop)
            return
        if buf and self._taken_size:
            head, head_size = buf[0]
            buf[0] = (head, head_size + self._taken_size)
            self._taken_size = 0
        super().receive_loop()  # at most one frame buffered: ccxt's loop reads it with receive()


def use_frame_by_frame(exchange: Any) -> None:
    """Make every WebSocket client `exchange` (a ccxt.pro instance) creates a `FrameByFrameClient`.

    ccxt builds its clients in `exchange.client(url)`; the wrapper switches the class of each new
    plain `Client` (same state, one method overridden). Other client kinds are left as they are."""
    make = exchange.client

    def client(url: str) -> Any:
        c = make(url)
        if type(c) is Client:
            c.__class__ = FrameByFrameClient
        return c

    exchange.client = client
