"""aitrader.heap: what is alive at a freeze leaves the collector's scans; later garbage is collected."""

from __future__ import annotations

import gc
import weakref

import pytest

from aitrader import heap
from aitrader.heap import freeze_long_lived, young_collections_only


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


def test_a_once_freeze_happens_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_frozen_once", False)  # as in a fresh process (others unfroze since)
    try:
        frozen = freeze_long_lived(once=True)
        assert frozen > 1000  # the imported modules, classes and their constants at least
        garbage = [_Node() for _ in range(50)]
        assert freeze_long_lived(once=True) == frozen  # a later app does not freeze its objects too
        del garbage
    finally:
        gc.unfreeze()


def test_young_collections_only_restores_thresholds_and_keeps_an_earlier_freeze() -> None:
    before = gc.get_threshold()
    gc.unfreeze()
    with young_collections_only():
        assert gc.get_threshold()[0] == before[0] and gc.get_threshold()[1] >= 1 << 30
        assert gc.get_freeze_count() > 0
        cycle = _Node()
        ref = weakref.ref(cycle)
        del cycle
        keep = [[] for _ in range(3 * before[0])]  # enough new containers for a young collection
        assert ref() is None  # a cycle that died young: collected without asking
        old = _Node()
        old_ref = weakref.ref(old)
        gc.collect(0)  # survives a young pass: promoted to the middle generation, no longer scanned
        del old, keep
        _ = [[] for _ in range(30 * before[0])]  # 30 young passes: by default the 11th scans the middle
        assert old_ref() is not None
        gc.collect()
        assert old_ref() is None  # an explicit full collection still reclaims it
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0  # nothing frozen before: undone
    try:
        frozen = freeze_long_lived()
        with young_collections_only():
            pass
        assert gc.get_freeze_count() >= frozen  # a session's or an app's freeze is not undone
    finally:
        gc.unfreeze()
