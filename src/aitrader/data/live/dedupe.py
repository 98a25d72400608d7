"""Process each exchange message at most once, even when it is resent.

After a reconnect an exchange replays snapshots (the last candles, the whole book, recent trades
and open orders); some also duplicate messages in normal operation. Every stream item gets a key
that identifies its *content* (a trade's id, an order's id + state, a book's nonce or levels, a
ticker's values), and a bounded set remembers the keys seen recently. Candles are deduplicated by
the cache itself (open time + values, older ones ignored).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any


class SeenKeys:
    """The last `capacity` keys seen; `add` is False for a key already there."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def add(self, key: Hashable) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


def _levels(side: Any, depth: int) -> tuple[tuple[float, float], ...]:
    return tuple((float(p), float(q)) for p, q, *_ in list(side or [])[:depth])


def book_key(book: Mapping[str, Any], depth: int) -> Hashable:
    """The exchange's nonce when it has one; else the timestamp and the visible levels."""
    nonce = book.get("nonce")
    levels = (_levels(book.get("bids"), depth), _levels(book.get("asks"), depth))
    return ("nonce", nonce) if nonce is not None else (book.get("timestamp"), levels)


def ticker_key(t: Mapping[str, Any]) -> Hashable:
    return tuple(t.get(k) for k in ("symbol", "timestamp", "bid", "ask", "last", "baseVolume"))


def trade_key(t: Mapping[str, Any]) -> Hashable:
    tid = t.get("id")
    if tid is not None:
        return ("id", str(tid))
    return tuple(t.get(k) for k in ("order", "timestamp", "price", "amount", "side"))


def order_key(o: Mapping[str, Any]) -> Hashable:
    """An order is news again whenever its state changes (status, fills, last update)."""
    return tuple(
        o.get(k) for k in ("id", "status", "filled", "remaining", "lastUpdateTimestamp", "lastTradeTimestamp")
    )
