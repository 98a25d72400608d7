"""Keep the garbage collector's full passes short while the server runs: `freeze_startup_heap`.

Why: `aitrader api` imports the whole package (numpy, scipy, scikit-learn... through the CLI), so the
heap holds millions of long-lived objects, and every generation-2 collection walked all of them:
70-150 ms with the event loop stopped, measured under the bench's load. At 1,000 req/s one such pause
queues ~100 requests and is most of the p99. `gc.freeze()` moves everything alive at startup into a
permanent generation the collector no longer walks; only objects created afterwards are examined.
The cost: a startup object that later becomes cyclic garbage is never reclaimed, which for modules,
classes and configuration is nothing. Done once per process (the first app to start), so test
sessions that start many apps do not freeze their later garbage.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> bool:
    """Collect once, then freeze what survives. True if this call did it, False if already done."""
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    return True
