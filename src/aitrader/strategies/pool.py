"""The small worker pool strategy computations run on when their time is bounded.

Why a pool and not a thread per call: Python cannot kill a thread, so a computation that overruns
its budget finishes in the background and its result is discarded. A bounded pool caps how many such
stragglers can pile up; once they occupy every worker, later calls wait in the queue, time out at
their own budget and are dropped too, so a hung strategy costs signals, never the trading loop.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

_POOL: ThreadPoolExecutor | None = None
WORKERS = 4


def strategy_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="strategy")
    return _POOL
