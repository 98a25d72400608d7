"""The live path equals the vectorised one, and the whole confluence never looks ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence, Microstructure
from aitrader.confluence.lookahead import check_confluence_lookahead
from aitrader.core.candles import OHLCV
from aitrader.strategies import registry
from aitrader.strategies.timeframes import resample
from leaky_strategies import NextClose


@pytest.fixture
def everything() -> Confluence:
    """All seven built-ins (so every `history` is exercised)."""
    return Confluence(
        ConfluenceConfig(),
        [
            (registry.create(n), 1.0)
            for n in sorted(registry.available())
            if n
            in {
                "ema_cross",
                "trend_adx",
                "mean_reversion",
                "macd_momentum",
                "donchian_breakout",
                "vwap_reversion",
                "squeeze",
            }
        ],
    )


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9)


def test_evaluate_last_equals_evaluate(btc5m: OHLCV, everything: Confluence) -> None:
    h = resample(btc5m, "1h")
    full = everything.evaluate("BTC/USDT:USDT", btc5m, h, "1h")
    decided = np.flatnonzero(full.direction)
    cuts = sorted({*decided[decided > everything.history][::60].tolist(), len(btc5m) - 1, 3000})
    assert len(cuts) > 8
    for i in cuts:
        live = everything.evaluate_last("BTC/USDT:USDT", btc5m.slice(0, i + 1), h, "1h")
        ref = full.decision_at(i)
        assert live.direction == ref.direction, i
        assert (
            _same(live.confidence, ref.confidence)
            and _same(live.stop, ref.stop)
            and _same(live.take, ref.take)
        )
        assert live.reasons == ref.reasons
        assert live.ts == ref.ts and live.strategy_votes == ref.strategy_votes
    assert any(full.direction[i] != 0 for i in cuts)


def test_whole_confluence_has_no_lookahead(btc5m: OHLCV, everything: Confluence) -> None:
    n = len(btc5m)
    flow = np.sin(np.arange(n) / 7.0)  # any per-bar series: it is cut with the candles
    micro = Microstructure(btc5m.ts, flow, np.full(n, np.nan), np.full(n, np.nan))
    report = check_confluence_lookahead(everything, btc5m, resample(btc5m, "1h"), "1h", micro, samples=16)
    assert report.ok, report.summary()
    assert report.signals > 100


def test_a_leaky_member_is_caught_through_confluence(btc5m: OHLCV) -> None:
    conf = Confluence(ConfluenceConfig(), [(registry.create("ema_cross"), 1.0), (NextClose(), 1.0)])
    report = check_confluence_lookahead(conf, btc5m.slice(0, 3000), samples=10)
    assert not report.ok
