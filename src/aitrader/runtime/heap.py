"""Keep the garbage collector's full passes off the live path.

Why: after the REST warm-up a session holds hundreds of thousands of long-lived objects (ccxt's
markets and caches, candle rings, strategy streams, SQLAlchemy metadata). CPython's oldest-generation
collection walks all of them: measured at up to ~130 ms in `bench/live.py` (50 pairs), an event-loop
stall that lands on whatever candle closes meanwhile. `gc.freeze()` moves everything alive at that
point into a permanent generation the collector no longer scans, so later full passes only walk
what streaming allocated since. Nothing is leaked: frozen objects are the session's own state,
alive until it ends anyway; cycles created later are still collected.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Collect once, then freeze what survived; returns how many objects are now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
