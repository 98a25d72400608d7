"""JSON columns: encoded by `storage.db.json_dumps` (orjson, the stdlib for what orjson refuses),
read back equal on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math

import numpy as np
from sqlalchemy import Engine

from aitrader.storage.db import json_dumps
from aitrader.storage.repository import tenant_scope


def test_json_dumps_reads_back_as_the_stdlib_would_write_it() -> None:
    value = {
        "rows": [[1_640_995_200_000, 0.1 + 0.2, 1e-9, 123456.789, 0.0]],
        "nested": {"a": [True, False, None], "b": "ünïcode"},
        1: "an int key",  # the stdlib turns keys into strings; so does json_dumps
        "tuple": (1, 2),
    }
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))


def test_json_dumps_handles_numpy_scalars_big_ints_and_non_finite_floats() -> None:
    assert json.loads(json_dumps({"x": np.float64(1.5), "n": np.int64(7)})) == {"x": 1.5, "n": 7}
    big = 2**80  # beyond orjson's 64 bits: the stdlib writes it
    assert json.loads(json_dumps({"big": big})) == {"big": big}
    assert json.loads(json_dumps([math.nan, math.inf])) == [None, None]  # valid JSON, not NaN


def test_engine_state_round_trips_through_the_json_column(migrated: Engine) -> None:
    t0 = 1_640_995_200_000
    rows = [[t0 + 60_000 * i, 100.0 + i / 3, 101.5, 99.25, 100.125, 12.0625] for i in range(300)]
    value = {"timeframe": "1m", "clock_ms": 1_641_013_200_000, "rows": rows}
    with tenant_scope(migrated, "t", create_tenant=True) as ts:
        ts.save_state("engine", "candles:BTC/USDT", value)
    with tenant_scope(migrated, "t") as ts:
        assert ts.load_state("engine", "candles:BTC/USDT") == value
