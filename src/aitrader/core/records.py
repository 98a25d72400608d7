"""`__reduce__` for the records that write their own `__init__` (see core.orders for why they do).

Why: compiled (aitrader.native), creating such a class without arguments runs its `__init__`, and
`copy.copy`, `copy.deepcopy` and `pickle` create objects that way (`cls.__new__(cls)`, then the
state), so they failed with "missing required argument". Reducing to the constructor called with
every field in order (the parameters are the fields, in order: tests/core/test_inits.py) works
compiled or not.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def reduce_fields(obj: Any) -> tuple[Any, tuple[Any, ...]]:
    return type(obj), tuple(getattr(obj, f.name) for f in fields(obj))
