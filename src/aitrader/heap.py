"""Keep the garbage collector's full passes off the hot paths: `freeze_long_lived`.

Why: a running process holds hundreds of thousands to millions of long-lived objects (the imported
package with numpy/scipy/scikit-learn, ccxt's markets, candle rings, strategy streams, SQLAlchemy
metadata). CPython's oldest-generation collection walks all of them: measured at 70-150 ms under
`bench/api.py` and up to ~130 ms in `bench/live.py`, an event-loop stall that lands on whatever
request or candle arrives meanwhile. `gc.freeze()` moves everything alive at that point into a
permanent generation the collector no longer scans; objects created afterwards are still examined
and their cycles collected. The cost: a frozen object that later becomes cyclic garbage is never
reclaimed, which for modules, classes, configuration and a session's own state is nothing.

Two callers: the API server at startup (`once=True`: test processes start many apps and must not
freeze each one's garbage) and a trading session after its REST warm-up.
"""

from __future__ import annotations

import gc

_frozen_once = False


def freeze_long_lived(*, once: bool = False) -> int:
    """Collect, then freeze what survived; returns how many objects are frozen now.

    With `once=True` only the first such call in the process freezes; later ones change nothing.
    """
    global _frozen_once
    if once and _frozen_once:
        return gc.get_freeze_count()
    gc.collect()
    gc.freeze()
    if once:
        _frozen_once = True
    return gc.get_freeze_count()
