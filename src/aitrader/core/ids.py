"""Client order ids we generate ourselves, so every order is traceable and resubmits are idempotent.

Deterministic (same inputs, same sequence -> same ids, so backtests replay identically) yet unique
within one generator: `<prefix>-<symbol slug>-<ts>-<seq>`, e.g. `at-BTC_USDT-1704067200000-3`.
Short enough for exchange limits (Binance 36 chars, Kraken `cl_ord_id` 36) for normal symbols.
"""

from __future__ import annotations

import re

from aitrader.core.symbols import symbol_slug

_PREFIX_RE = re.compile(r"^[A-Za-z0-9]{1,8}$")


class ClientIdGenerator:
    """Hands out `<prefix>-<slug>-<ts>-<seq>`; `seq` counts up per generator (restore with `start`)."""

    def __init__(self, prefix: str = "at", start: int = 0) -> None:
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"client id prefix {prefix!r} must be 1-8 letters or digits")
        self.prefix = prefix
        self._seq = start
        self._slugs: dict[str, str] = {}  # symbol -> slug: a backtest asks for thousands of ids per symbol

    @property
    def seq(self) -> int:
        """Last sequence number handed out (persist it to continue after a restart)."""
        return self._seq

    def next(self, symbol: str, ts_ms: int) -> str:
        self._seq += 1
        slug = self._slugs.get(symbol)
        if slug is None:
            slug = self._slugs[symbol] = symbol_slug(symbol)
        return f"{self.prefix}-{slug}-{ts_ms}-{self._seq}"
