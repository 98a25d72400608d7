"""The server freezes its startup heap once per process (`api/heap.py`), so full GC passes skip it."""

from __future__ import annotations

import gc

from aitrader.api.heap import freeze_startup_heap


def test_the_startup_heap_is_frozen_once() -> None:
    freeze_startup_heap()  # an app started earlier in this process may have done it already
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # the imported modules, classes and their constants at least
    assert freeze_startup_heap() is False
    assert gc.get_freeze_count() == frozen  # a later app does not freeze its garbage too
