"""A nonce that survives restarts: ccxt's nonce wired to storage's monotonic `next_nonce`.

Why: Kraken refuses any private request whose nonce is not above the last one it saw for the key
(`EAPI:Invalid nonce`). ccxt's own nonce is the wall clock in ms plus an in-memory "last + 1", which
is lost on restart: after a burst that ran ahead of the clock, or a clock that stepped back (NTP), a
new process would reuse nonces and be locked out. Storage hands out max(last + 1, now) in one
committed statement, so no nonce is ever issued twice, across processes and restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from aitrader.core.time import now_ms
from aitrader.storage.repository import allocate_nonce


class PersistentNonce:
    """Callable nonce source for one (exchange, account): committed before it is used."""

    def __init__(
        self,
        engine: Engine,
        tenant_id: str,
        exchange: str,
        account: str = "",
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self._engine = engine
        self._tenant = tenant_id
        self._exchange = exchange
        self._account = account
        self._clock_ms = clock_ms

    def __call__(self) -> int:
        return allocate_nonce(
            self._engine, self._tenant, self._exchange, self._account, floor=self._clock_ms()
        )


def install_nonce(exchange: Any, source: Callable[[], int]) -> None:
    """Make a ccxt client sign with `source()`: ccxt calls `self.nonce()` (through
    `incrementing_nonce`, which keeps the value strictly rising within the process too)."""
    exchange.nonce = source
