"""The streaming confluence equals `Confluence.evaluate` bar by bar on real candles.

Every bar of each file is fed once; the Decision (or None on a bar where no strategy signalled)
must be what `evaluate` over all candles gives for that bar: direction, votes and reasons exactly,
confidence/stop/take within 1e-9 relative. Modes: plain, with a closed higher timeframe, and with
per-bar microstructure (flow, book, spread with gaps), all seven built-ins with uneven weights.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping

import numpy as np
import pytest

from aitrader.config import ConfluenceConfig
from aitrader.confluence import Confluence, Microstructure
from aitrader.core.candles import OHLCV, Candle
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError, StrategyError
from aitrader.metrics import REGISTRY
from aitrader.strategies import Signals, Strategy, registry
from aitrader.strategies.sample import load_ohlcv_csv, sample_path
from aitrader.strategies.timeframes import infer_timeframe_ms, resample, tf_ms

BUILTINS = (
    "ema_cross",
    "trend_adx",
    "mean_reversion",
    "macd_momentum",
    "donchian_breakout",
    "vwap_reversion",
    "squeeze",
)
QUIET = ("no strategy signalled on this bar",)


def all_seven(**kwargs: float) -> Confluence:
    made = [(registry.create(n), 1.0 + 0.15 * k) for k, n in enumerate(BUILTINS)]
    return Confluence(ConfluenceConfig(), made, **kwargs)  # type: ignore[arg-type]


def rows(c: OHLCV) -> list[Candle]:
    cols = [a.tolist() for a in (c.ts, c.open, c.high, c.low, c.close, c.volume)]
    return [Candle(*r) for r in zip(*cols, strict=True)]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)


def assert_same(got: Decision | None, ref: Decision, i: int) -> None:
    if got is None:
        assert ref.direction == 0 and ref.confidence == 0.0, i
        assert ref.reasons == QUIET and not ref.strategy_votes, i
        return
    assert got.direction == ref.direction, (i, got, ref)
    assert got.ts == ref.ts and got.price == ref.price and got.symbol == ref.symbol
    assert _close(got.confidence, ref.confidence), (i, got.confidence, ref.confidence)
    assert _close(got.stop, ref.stop) and _close(got.take, ref.take), (i, got, ref)
    assert got.strategy_votes == ref.strategy_votes, i
    assert got.reasons == ref.reasons, (i, got.reasons, ref.reasons)


def run_stream(
    conf: Confluence,
    c: OHLCV,
    higher: OHLCV | None = None,
    higher_tf: str | None = None,
    micro: Microstructure | None = None,
) -> list[Decision | None]:
    """Feed bar by bar, handing each higher candle over at the first base close that closes it."""
    base_ms = infer_timeframe_ms(c.ts)
    stream = conf.streamer("BTC/USDT", timeframe=base_ms, higher_tf=higher_tf)
    hrows = rows(higher) if higher is not None else []
    h_ms = tf_ms(higher_tf) if higher_tf else 0
    j = 0
    out = []
    for i, bar in enumerate(rows(c)):
        closed = []
        while j < len(hrows) and hrows[j].ts + h_ms <= bar.ts + base_ms:
            closed.append(hrows[j])
            j += 1
        m = None
        if micro is not None:
            m = Microstructure(
                micro.ts[i : i + 1],
                micro.flow_imbalance[i : i + 1],
                micro.book_imbalance[i : i + 1],
                micro.spread_bps[i : i + 1],
                micro.flow_method,
            )
        out.append(stream.update(bar, closed or None, m))
    return out


def compare(conf: Confluence, c: OHLCV, **kw: object) -> tuple[int, int]:
    frame = conf.evaluate("BTC/USDT", c, kw.get("higher"), kw.get("higher_tf"), kw.get("micro"))  # type: ignore[arg-type]
    got = run_stream(conf, c, **kw)  # type: ignore[arg-type]
    for i, d in enumerate(got):
        assert_same(d, frame.decision_at(i), i)
    hinted = int(np.count_nonzero(frame.stop_from >= 0)) if frame.stop_from is not None else 0
    return int(np.count_nonzero(frame.direction)), hinted


def synthetic_micro(c: OHLCV) -> Microstructure:
    """Flow, book and spread per bar with gaps; wide spreads on some bars (the damping path)."""
    n = len(c)
    rng = np.random.default_rng(7)
    flow = np.where(rng.random(n) < 0.2, np.nan, np.sin(np.arange(n) / 7.0))
    book = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(-1, 1, n))
    spread = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0, 40, n))
    return Microstructure(c.ts, flow, book, spread)


@pytest.fixture(scope="module")
def btc() -> OHLCV:
    return load_ohlcv_csv(sample_path("binance_BTC_USDT_USDT-5m-futures.csv")).slice(0, 5000)


@pytest.mark.parametrize(
    "name", ["bittrex_UNITTEST_BTC-1m.csv", "bittrex_ADA_BTC-5m.csv", "binance_XRP_USDT_USDT-8h-futures.csv"]
)
def test_stream_equals_evaluate_on_other_files(name: str) -> None:
    c = load_ohlcv_csv(sample_path(name)).slice(0, 5000)
    decided, _ = compare(all_seven(), c)
    assert decided > (100 if len(c) > 1000 else 0)


def test_stream_equals_evaluate_plain(btc: OHLCV) -> None:
    decided, hinted = compare(all_seven(), btc)
    assert decided > 300 and hinted > 20  # decisions, some with a strategy's tighter stop


def test_stream_equals_evaluate_with_higher_timeframe(btc: OHLCV) -> None:
    decided, _ = compare(all_seven(), btc, higher=resample(btc, "1h"), higher_tf="1h")
    assert decided > 300


def test_stream_equals_evaluate_with_microstructure(btc: OHLCV) -> None:
    micro = synthetic_micro(btc)
    decided, _ = compare(all_seven(micro_weight=0.5), btc, micro=micro)
    assert decided > 300


def test_regime_paths_are_exercised(btc: OHLCV) -> None:
    """The equality above covers trending, ranging, unknown and volatile bars (not a vacuous regime)."""
    frame = all_seven().evaluate("BTC/USDT", btc)
    r = frame.regime
    assert {-1, 0, 1} <= set(np.unique(r.trend).tolist())
    assert r.volatile.sum() > 100


class Slow(Strategy):
    """A user strategy without a streamer that is too slow for any budget."""

    name = "slow_user"
    description = "sleeps"

    @property
    def warmup(self) -> int:
        return 1

    @property
    def history(self) -> int:
        return 5

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        time.sleep(0.004)
        return Signals.none(len(candles))


def test_over_budget_fallback_is_dropped_like_a_timeout(btc: OHLCV) -> None:
    conf = Confluence(ConfluenceConfig(), [(registry.create("ema_cross"), 1.0), (Slow(), 1.0)], budget_ms=1.0)
    stream = conf.streamer("BTC/USDT")
    out = [stream.update(bar) for bar in rows(btc.slice(0, 30))]
    assert all(d is not None for d in out)  # a timeout is always reported
    assert all("slow_user: timed out, signals dropped" in d.reasons for d in out if d is not None)


def test_the_configured_budget_bounds_and_times_every_update(btc: OHLCV) -> None:
    def sample(metric: str, name: str) -> float:
        return REGISTRY.get_sample_value(metric, {"strategy": name}) or 0.0

    before = {n: sample("aitrader_strategy_runtime_seconds_count", n) for n in ("ema_cross", "slow_user")}
    timeouts = sample("aitrader_strategy_timeouts_total", "slow_user")
    cfg = ConfluenceConfig(strategy_budget_ms=1.0)  # from config, as a session builds it
    stream = Confluence(cfg, [(registry.create("ema_cross"), 1.0), (Slow(), 1.0)]).streamer("BTC/USDT")
    out = [stream.update(bar) for bar in rows(btc.slice(0, 12))]
    assert all(d is not None and "slow_user: timed out, signals dropped" in d.reasons for d in out)
    stream.flush_metrics()  # the live decision source does this as it hands each decision out
    for n in ("ema_cross", "slow_user"):  # every update of every strategy is observed
        assert sample("aitrader_strategy_runtime_seconds_count", n) == before[n] + 12
    assert sample("aitrader_strategy_timeouts_total", "slow_user") == timeouts + 12
    unbounded = Confluence(ConfluenceConfig(strategy_budget_ms=None), [(Slow(), 1.0)]).streamer("X/Y")
    assert all(unbounded.update(bar) is None for bar in rows(btc.slice(0, 3)))  # never dropped


def test_refuses_lookahead_and_disorder(btc: OHLCV) -> None:
    conf = all_seven()
    bars = rows(btc.slice(0, 40))
    with pytest.raises(ConfigError):
        conf.streamer("BTC/USDT", higher_tf="1h")  # no base timeframe to check closes against
    stream = conf.streamer("BTC/USDT", timeframe="5m", higher_tf="1h")
    hour = rows(resample(btc.slice(0, 40), "1h"))
    stream.update(bars[0])
    with pytest.raises(StrategyError, match="lookahead"):
        stream.update(bars[1], hour[0])  # the first 1h candle closes at bar 11's close, not bar 1's
    with pytest.raises(StrategyError, match="not after"):
        stream.update(bars[0])
    plain = conf.streamer("BTC/USDT")
    with pytest.raises(ConfigError):
        plain.update(bars[0], hour[0])


class Hangs(Slow):
    """A user strategy whose compute blocks on its third candle until the test releases it."""

    name = "hangs_user"
    description = "blocks"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.blocked = threading.Event()  # set while a compute is waiting on `release`

    def compute(self, candles: OHLCV, informative: Mapping[str, OHLCV] | None = None) -> Signals:
        if len(candles) == 3:
            self.blocked.set()
            self.release.wait(30)
            self.blocked.clear()
        return Signals.none(len(candles))


def test_a_hanging_user_strategy_is_abandoned_at_the_budget(btc: OHLCV) -> None:
    hangs = Hangs()
    both = [(registry.create("ema_cross"), 1.0), (hangs, 1.0)]
    conf = Confluence(ConfluenceConfig(strategy_budget_ms=50.0), both)
    stream = conf.streamer("BTC/USDT")
    bars = rows(btc.slice(0, 4))
    try:
        out = [stream.update(bar) for bar in bars[:3]]
        # the third update came back while its compute is still blocked: the loop did not wait for it
        assert hangs.blocked.is_set()
        out.append(stream.update(bars[3]))  # the next candle is computed as usual meanwhile
    finally:
        hangs.release.set()
    dropped = [d is not None and "hangs_user: timed out, signals dropped" in d.reasons for d in out]
    assert dropped == [False, False, True, False]


def test_strategy_times_are_observed_by_flush_or_every_unobserved_max_updates(btc: OHLCV) -> None:
    from aitrader.confluence.streaming import UNOBSERVED_MAX

    def count() -> float:
        sample = REGISTRY.get_sample_value("aitrader_strategy_runtime_seconds_count", {"strategy": "squeeze"})
        return sample or 0.0

    cfg = ConfluenceConfig(strategy_budget_ms=50.0)
    stream = Confluence(cfg, [(registry.create("squeeze"), 1.0)]).streamer("X/Y")
    bars = rows(btc.slice(0, UNOBSERVED_MAX + 5))
    before = count()
    for bar in bars[:3]:
        stream.update(bar)
    assert count() == before  # not yet: observed after the decision is out
    stream.flush_metrics()
    assert count() == before + 3
    for bar in bars[3:]:
        stream.update(bar)
    assert count() == before + 3 + UNOBSERVED_MAX  # flushed by itself at the bound, 2 still waiting
    stream.flush_metrics()
    assert count() == before + len(bars)
