"""PrecomputedDecisions without reasons (backtests read a confluence frame's decision bars from flat
memoryview blocks) gives the Decisions the frame itself gives, on every bar of real candles with all
built-in strategies voting: same time, direction, confidence, price, levels and votes."""

from __future__ import annotations

import dataclasses

from engine_rig import sample_candles

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence
from aitrader.core.ports import CandleClosed
from aitrader.engine.decisions import PrecomputedDecisions
from aitrader.strategies import registry


def test_bare_rows_equal_the_frames_decisions() -> None:
    candles = sample_candles(("ETH/BTC", "ADA/BTC"), start=0, length=3000)
    strategies = [(registry.create(n, {}), 1.0) for n in sorted(registry.available())]
    conf = Confluence(ConfluenceConfig(), strategies)
    frames = {p: conf.evaluate(p, c) for p, c in candles.items()}
    ts = {p: c.ts for p, c in candles.items()}
    bare = PrecomputedDecisions(frames, ts, with_reasons=False)
    full = PrecomputedDecisions(frames, ts, with_reasons=True)
    seen = 0
    for p, c in candles.items():
        for i in range(len(c)):
            ev = CandleClosed(p, "5m", c.candle(i))
            a, b = bare.decision(p, ev), full.decision(p, ev)
            assert (a is None) == (b is None), (p, i)
            if a is None or b is None:
                continue
            seen += 1
            assert a.reasons == () and b.reasons
            assert a == dataclasses.replace(b, reasons=()), (p, i)
            assert [type(x) for x in (a.ts, a.direction, a.price)] == [int, int, float]
    assert seen > 50  # decision bars were compared, not only empty ones
