"""Waiting on the simulator's streams in tests."""

from __future__ import annotations

import asyncio
from typing import Any


async def eventually(check: Any, timeout: float = 5.0) -> None:
    """Wait until `check()` is true: several stream messages may land within one watch call."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not check():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)
