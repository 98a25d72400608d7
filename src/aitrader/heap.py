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
freeze each one's garbage) and a trading session after its REST warm-up. A backtest instead runs its
engine under `young_collections_only`: everything it books (orders, fills, trades) stays alive to the
end, so each object the collector promotes is rescanned for nothing. The engine's event path makes
no cyclic garbage to speak of (a full-stack run with the collector off left 7 unreachable objects),
and in bench (b) without limits the collector took 0.69 s under the default thresholds, 0.56 s of it
in the middle and oldest passes (interpreted: 0.97 s, and 0.24 s collecting the youngest only).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def young_collections_only() -> Iterator[None]:
    """Within the block: what existed before is frozen, and only the youngest generation is collected
    automatically (the middle one's threshold is out of reach, so nothing is promoted past it and the
    oldest is never rescanned); cycles that die young are still collected, and an explicit
    `gc.collect()` collects everything. Afterwards the thresholds are restored and, unless something
    had been frozen before the block (`freeze_long_lived`), everything is unfrozen again (a test
    process runs many backtests and must not keep each one's garbage)."""
    thresholds = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(thresholds[0], _NEVER, thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:
            gc.unfreeze()


_NEVER = 1 << 30  # young collections before a middle one: more than any backtest makes
