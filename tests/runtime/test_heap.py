"""runtime.heap: what is alive after warm-up leaves the collector's scans; later garbage is still collected."""

from __future__ import annotations

import gc
import weakref

from aitrader.runtime.heap import freeze_long_lived


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_freeze_moves_survivors_out_and_new_cycles_are_still_collected() -> None:
    kept = [_Node() for _ in range(100)]
    try:
        frozen = freeze_long_lived()
        assert frozen >= 100 and gc.get_freeze_count() == frozen
        later = _Node()
        ref = weakref.ref(later)
        del later
        gc.collect()
        assert ref() is None  # created after the freeze: collected as usual
        assert all(k.me is k for k in kept)
    finally:
        gc.unfreeze()
