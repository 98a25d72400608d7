"""`--fill-gaps` (backtest.data.fill_gaps) on real Bittrex candles with known holes
(../shared/data/README.md): it inserts exactly the missing intervals as flat zero-volume candles at the
previous close and leaves every real candle as it was; without it no candle is invented."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from aitrader.backtest.data import fill_gaps, load_candles
from aitrader.backtest.demo import demo_settings
from aitrader.backtest.runner import BacktestSpec, run_backtest
from aitrader.config import StrategyRef
from aitrader.core.candles import OHLCV
from aitrader.data.csv_io import read_ohlcv_csv
from aitrader.data.store import HistoryStore
from shared_data import SHARED

DATA = SHARED / "data/ohlcv"
M5, M1 = 300_000, 60_000


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _runs(missing: np.ndarray, step: int) -> list[tuple[int, int]]:
    """(first missing open time, length) of each hole."""
    out: list[tuple[int, int]] = []
    for t in missing.tolist():
        if out and t == out[-1][0] + out[-1][1] * step:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((t, 1))
    return out


def _check_filled(raw: OHLCV, step: int) -> tuple[OHLCV, np.ndarray]:
    """The rule, checked slot by slot; returns the filled candles and the open times it inserted."""
    filled = fill_gaps(raw, step)
    # a regular grid from the first to the last real candle
    assert filled.ts[0] == raw.ts[0] and filled.ts[-1] == raw.ts[-1]
    assert np.all(np.diff(filled.ts) == step)
    real = np.isin(filled.ts, raw.ts)
    assert real.sum() == len(raw)
    # real candles unchanged, bit for bit
    for col in ("ts", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(filled, col)[real], getattr(raw, col))
    # inserted candles: open = high = low = close = the close before them, volume 0
    idx = np.flatnonzero(~real)
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(filled, col)[idx], filled.close[idx - 1])
    assert np.all(filled.volume[idx] == 0)
    prev_real = np.searchsorted(raw.ts, filled.ts[idx]) - 1
    np.testing.assert_array_equal(filled.close[idx], raw.close[prev_real])
    return filled, filled.ts[idx]


def test_ada_btc_5m_gets_its_40_missing_candles() -> None:
    raw = read_ohlcv_csv(DATA / "bittrex_ADA_BTC-5m.csv")
    assert len(raw) == 5720
    filled, inserted = _check_filled(raw, M5)
    assert len(filled) == 5760 and len(inserted) == 40
    # README: all on 2018-01-15 between 10:05 and 14:45 UTC, 5 holes, the largest 33 after 11:55
    assert inserted.min() >= _ms("2018-01-15T10:05:00") and inserted.max() <= _ms("2018-01-15T14:45:00")
    runs = _runs(inserted, M5)
    assert len(runs) == 5
    assert max(n for _, n in runs) == 33
    assert (_ms("2018-01-15T12:00:00"), 33) in runs  # first missing candle right after 11:55


def test_powr_btc_5m_six_single_holes() -> None:
    raw = read_ohlcv_csv(DATA / "bittrex_POWR_BTC-5m.csv")
    filled, inserted = _check_filled(raw, M5)
    assert len(raw) == 5754 and len(filled) == 5760
    assert [n for _, n in _runs(inserted, M5)] == [1] * 6
    assert _ms("2018-01-22T17:20:00") in inserted.tolist()  # after 2018-01-22T17:15


def test_unittest_btc_1m_717_missing_minutes() -> None:
    raw = read_ohlcv_csv(DATA / "bittrex_UNITTEST_BTC-1m.csv")
    filled, inserted = _check_filled(raw, M1)
    assert len(raw) == 13681 and len(inserted) == 717 and len(filled) == 13681 + 717
    runs = _runs(inserted, M1)
    assert len(runs) == 538 and max(n for _, n in runs) == 7


def test_no_gaps_nothing_changes() -> None:
    raw = read_ohlcv_csv(DATA / "bittrex_ETH_BTC-5m.csv")
    assert fill_gaps(raw, M5) is raw


@pytest.fixture(scope="module")
def ada_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ada")
    HistoryStore(d).write("bittrex", "ADA/BTC", "5m", read_ohlcv_csv(DATA / "bittrex_ADA_BTC-5m.csv"))
    return d


def test_without_fill_gaps_no_candle_is_invented(ada_store: Path) -> None:
    raw = read_ohlcv_csv(DATA / "bittrex_ADA_BTC-5m.csv")
    plain = load_candles(ada_store, "bittrex", ["ADA/BTC"], "5m", None, None)["ADA/BTC"]
    assert len(plain) == len(raw) == 5720
    np.testing.assert_array_equal(plain.ts, raw.ts)
    np.testing.assert_array_equal(plain.close, raw.close)
    filled = load_candles(ada_store, "bittrex", ["ADA/BTC"], "5m", None, None, fill=True)["ADA/BTC"]
    assert len(filled) == 5760


def test_backtest_flag_reaches_the_candles(ada_store: Path) -> None:
    def run(fill: bool) -> dict[str, object]:
        spec = BacktestSpec(
            "bittrex", ["ADA/BTC"], "5m", strategies=[StrategyRef(name="ema_cross")], stake=Decimal(1000),
            fee=Decimal("0.001"), no_stops=True, fill_gaps=fill,
        )
        rep = run_backtest(demo_settings(), spec, ada_store).report
        return {"candles": rep.summary["candles"], "fill_gaps": rep.settings["fill_gaps"]}

    assert run(False) == {"candles": 5720, "fill_gaps": False}
    assert run(True) == {"candles": 5760, "fill_gaps": True}
