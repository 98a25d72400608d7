"""Strategies that declare `informative_timeframes` get those candles on every path.

Backtest (`Confluence.evaluate` -> `run_strategies`), live (`WindowedStream`) and the lookahead
guard all resample the declared timeframe from the base candles, so a strategy sees the same closed
higher candles everywhere and its live signals equal the backtest's.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence
from aitrader.core.candles import OHLCV
from aitrader.core.errors import StrategyError
from aitrader.indicators import ema
from aitrader.strategies import Signals, Strategy
from aitrader.strategies.base import check_class
from aitrader.strategies.events import crossed_above, crossed_below
from aitrader.strategies.lookahead import check_lookahead
from aitrader.strategies.runner import run_strategies
from aitrader.strategies.timeframes import (
    align_closed,
    informative_for,
    resample,
    take_aligned,
)


class HourlyTrend(Strategy):
    """Close crossing the EMA(5) of closed 1h closes on 5m candles; refuses to run without them."""

    name = "hourly_trend"
    description = "close crossing the 1h EMA"
    informative_timeframes = ("1h",)

    @property
    def warmup(self) -> int:
        return 6 * 12  # five closed 1h candles plus one, in 5m bars

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        if informative is None or "1h" not in informative:
            raise AssertionError("hourly_trend was not given its 1h candles")
        higher = informative["1h"]
        line = take_aligned(ema(higher.close, 5), align_closed(candles.ts, "5m", higher, "1h"))
        c = candles.close
        return Signals.from_events(crossed_above(c, line), crossed_below(c, line))


def test_backtest_path_hands_the_declared_timeframe(btc5m: OHLCV) -> None:
    frame = Confluence(ConfluenceConfig(), [(HourlyTrend(), 1.0)]).evaluate("BTC/USDT", btc5m)
    assert btc5m.ts[0] % 3_600_000 != 0  # starts mid-hour: the partial first 1h candle is dropped
    expected = HourlyTrend().compute(btc5m, {"1h": resample(btc5m, "1h").slice(1)})
    assert int(np.count_nonzero(expected.direction)) > 20
    np.testing.assert_array_equal(frame.votes[0].direction, expected.direction)


def test_given_informative_candles_win_over_resampling(btc5m: OHLCV) -> None:
    given = {"1h": resample(btc5m.slice(0, 2000), "1h")}  # a shorter 1h history than the base
    run = run_strategies([HourlyTrend()], btc5m, given)
    sig = run.signals[0]
    assert sig is not None
    np.testing.assert_array_equal(sig.direction, HourlyTrend().compute(btc5m, given).direction)
    resampled = run_strategies([HourlyTrend()], btc5m).signals[0]
    assert resampled is not None and np.any(resampled.direction != sig.direction)


def test_live_window_streams_the_backtest_signals(btc5m: OHLCV) -> None:
    strategy = HourlyTrend()
    full = strategy.compute(btc5m, informative_for(strategy.informative_timeframes, btc5m))
    tail = btc5m.slice(len(btc5m) - 3000)
    stream = strategy.streamer()
    start = len(btc5m) - len(tail)
    got = [stream.update(tail.candle(i)).direction for i in range(len(tail))]
    # once the stream holds a full window, every bar equals the full-history computation
    settled = strategy.history
    np.testing.assert_array_equal(np.array(got[settled:]), full.direction[start + settled :])
    assert np.count_nonzero(full.direction[start + settled :]) > 5


def test_honest_informative_strategy_passes_the_lookahead_guard(btc5m: OHLCV) -> None:
    report = check_lookahead(HourlyTrend(), btc5m.slice(0, 4000), samples=16)
    assert report.ok, report.summary()
    assert report.signals > 10


def test_partial_leading_bucket_is_dropped(btc5m: OHLCV) -> None:
    start = int(np.flatnonzero(btc5m.ts % 3_600_000 == 1_800_000)[0])  # half an hour into a bucket
    window = btc5m.slice(start, start + 600)
    higher = informative_for(("1h",), window)["1h"]
    assert higher.ts[0] == window.ts[0] + 1_800_000
    full = resample(btc5m, "1h")
    i = int(np.searchsorted(full.ts, higher.ts[0]))
    np.testing.assert_array_equal(higher.close[:-1], full.close[i : i + len(higher) - 1])


def test_timeframe_not_above_the_base_is_refused(btc5m: OHLCV) -> None:
    class TooFine(HourlyTrend):
        name = "too_fine"
        informative_timeframes = ("5m",)

    with pytest.raises(StrategyError, match="too_fine declares informative timeframe 5m"):
        run_strategies([TooFine()], btc5m)


@pytest.mark.parametrize("bad", [("1x",), "1h", (60,)])
def test_malformed_declarations_are_rejected_at_load(bad: object) -> None:
    cls = type("Bad", (HourlyTrend,), {"name": "bad_tf", "informative_timeframes": bad})
    with pytest.raises(StrategyError, match=r"bad_tf.*informative_timeframes"):
        check_class(cls, "user folder")
