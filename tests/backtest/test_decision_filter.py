"""`run_backtest(decision_filter=...)`: the hook the ML gate uses to mask entries per pair, on the
bundled real data. Identity (through a wrapper, so decisions come from `decision_at`) must keep the
pinned full-stack fingerprint; masking entries must remove exactly the trades of the masked pairs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from test_fingerprint import FULL_STACK_FP

from aitrader.backtest.demo import demo_settings, import_sample_data
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import StrategyRef
from aitrader.core.candles import OHLCV
from aitrader.core.decisions import Decision
from aitrader.core.errors import DataError
from aitrader.engine.decisions import DecisionArrays, Int8Array


class _Masked:
    """A pair's decisions with the entries of `drop` removed (exits kept)."""

    def __init__(self, inner: DecisionArrays, drop: bool) -> None:
        self._inner = inner
        raw = np.asarray(inner.direction, dtype=np.int8)
        self._direction = np.where(raw > 0, 0, raw).astype(np.int8) if drop else raw.copy()

    @property
    def direction(self) -> Int8Array:
        return self._direction

    def decision_at(self, i: int) -> Decision:
        return self._inner.decision_at(i)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    d = tmp_path_factory.mktemp("filter")
    return d, import_sample_data(d)


def test_identity_filter_keeps_the_fingerprint(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    seen: list[tuple[str, int]] = []

    def identity(pair: str, candles: OHLCV, frame: DecisionArrays) -> DecisionArrays:
        assert len(frame.direction) == len(candles)
        seen.append((pair, len(candles)))
        return _Masked(frame, drop=False)

    spec = BacktestSpec("bittrex", pairs, "5m")
    result = run_backtest(demo_settings(), spec, datadir, decision_filter=identity)
    assert [p for p, _ in seen] == pairs  # once per pair, with that pair's candles
    assert [n for _, n in seen] == [len(result.report.candles[p]) for p in pairs]
    assert result.report.fingerprint == FULL_STACK_FP


def test_filter_dropping_entries_removes_those_trades(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    spec = BacktestSpec("bittrex", pairs[:3], "5m")

    def drop_all(pair: str, candles: OHLCV, frame: DecisionArrays) -> DecisionArrays:
        return _Masked(frame, drop=True)

    none = run_backtest(demo_settings(), spec, datadir, decision_filter=drop_all)
    assert len(none.report.trades) == 0
    assert none.stats is not None and none.stats.entries == 0

    muted = pairs[0]

    def drop_one(pair: str, candles: OHLCV, frame: DecisionArrays) -> DecisionArrays:
        return _Masked(frame, drop=pair == muted)

    some = run_backtest(demo_settings(), spec, datadir, decision_filter=drop_one)
    traded = set(some.report.trades.pair)
    assert muted not in traded and traded == set(pairs[1:3])


def test_filter_is_refused_in_reference_mode(store: tuple[Path, list[str]]) -> None:
    datadir, pairs = store
    spec = BacktestSpec(
        "bittrex", pairs[:1], "5m", strategies=[StrategyRef(name="ema_cross")], stake=Decimal(1),
        no_stops=True,
    )
    with pytest.raises(DataError, match="full-stack"):
        run_backtest(demo_settings(), spec, datadir, decision_filter=lambda p, c, f: f)
