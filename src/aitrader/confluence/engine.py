"""Confluence: many strategies' events -> one decision per bar, with confidence, stop and take.

Per bar t (all vectorised):

1. Each strategy i votes d_i(t) in {-1, 0, +1} with strength s_i(t); its configured weight w_i is
   multiplied by the regime multiplier m_i(t) of its style (see `regime`).
2. net(t) = sum_i w_i m_i d_i s_i / sum_{i voting at t} w_i, clipped to [-1, 1]. Only strategies
   that fire count in the denominator: signals are rare events, so silent strategies are not votes
   against. The regime can therefore raise (trend follower in a trend) or lower a lone vote.
3. Multi-timeframe: the higher timeframe's trend (close vs EMA(mtf_ema) of CLOSED higher candles,
   via `align_closed`) multiplies by `mtf_confirm` when it agrees with sign(net) and by
   `mtf_against` when it disagrees.
4. Microstructure (optional): trade-flow and order-book imbalance in [-1, 1], averaged, multiply by
   1 + micro_weight x side x imbalance; a spread wider than `max_spread_bps` multiplies by 0.8.
5. confidence = min(|net| x factors, 1). direction = sign(net) when confidence >= min_confidence and
   ATR is defined, else 0.
6. Levels from ATR(atr_period) at t: long stop = close - stop_atr x ATR, take = close + take_atr x ATR
   (mirrored for -1). A voting strategy's hint replaces a level only when it is tighter (closer to
   the close) and still on the correct side; the tightest such hint wins.

The live path is `streamer(symbol)`: a per-pair `ConfluenceStream` fed one closed candle at a time,
O(1) per candle, equal bar by bar to `evaluate` (see `confluence.streaming`). `evaluate_last` is the
stateless alternative: the same computation over a bounded trailing window of `history` bars, long
enough for recursive indicators to have forgotten their seed, so it equals `evaluate(...)[-1]` on the
full history (tested on real data), at O(history) per call.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from aitrader.config import ConfluenceConfig, Settings
from aitrader.confluence.frame import DecisionFrame, Vote
from aitrader.confluence.microstructure import Microstructure
from aitrader.confluence.regime import RegimeParams, classify
from aitrader.core.candles import OHLCV, FloatArray
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError, StrategyError
from aitrader.indicators import atr, ema
from aitrader.indicators.cache import indicator_cache
from aitrader.strategies import registry
from aitrader.strategies.base import Int8Array, Signals, Strategy, Style
from aitrader.strategies.runner import run_strategies
from aitrader.strategies.timeframes import infer_timeframe_ms, tf_ms

if TYPE_CHECKING:
    from aitrader.confluence.streaming import ConfluenceStream

WIDE_SPREAD_FACTOR = 0.8


class Confluence:
    def __init__(
        self,
        config: ConfluenceConfig,
        strategies: list[tuple[Strategy, float]],
        *,
        regime: RegimeParams | None = None,
        mtf_ema: int = 21,
        mtf_confirm: float = 1.15,
        mtf_against: float = 0.5,
        micro_weight: float = 0.25,
        max_spread_bps: float = 20.0,
        budget_ms: float | None = None,
    ) -> None:
        if not strategies:
            raise StrategyError("confluence needs at least one strategy")
        if any(w < 0 for _, w in strategies):
            raise StrategyError("strategy weights must be >= 0")
        self.config = config
        self.strategies = list(strategies)
        self.regime_params = regime or RegimeParams()
        self.mtf_ema = mtf_ema
        self.mtf_confirm = mtf_confirm
        self.mtf_against = mtf_against
        self.micro_weight = micro_weight
        self.max_spread_bps = max_spread_bps
        self.budget_ms = budget_ms

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: float | None) -> Confluence:
        """Strategies from `settings.strategies` (name, params, weight) through the registry."""
        made = [(registry.create(ref.name, ref.params), ref.weight) for ref in settings.strategies]
        return cls(settings.confluence, made, **kwargs)  # type: ignore[arg-type]

    @property
    def history(self) -> int:
        """Trailing base bars `evaluate_last` computes over."""
        return max(
            *(s.history for s, _ in self.strategies),
            self.regime_params.history,
            40 * self.config.atr_period,
        )

    @property
    def higher_history(self) -> int:
        """Trailing closed higher-timeframe candles `evaluate_last` keeps."""
        return 20 * self.mtf_ema + 2

    def evaluate(
        self,
        symbol: str,
        candles: OHLCV,
        higher: OHLCV | None = None,
        higher_tf: str | None = None,
        micro: Microstructure | None = None,
        *,
        timeframe: str | int | None = None,
    ) -> DecisionFrame:
        """Decisions for every bar of `candles` (see the module docstring for the rule); the
        strategies, the regime filter and the stops share indicator results (`indicators.cache`)."""
        with indicator_cache(candles, *([] if higher is None else [higher])):
            return self._evaluate(symbol, candles, higher, higher_tf, micro, timeframe)

    def _evaluate(
        self,
        symbol: str,
        candles: OHLCV,
        higher: OHLCV | None,
        higher_tf: str | None,
        micro: Microstructure | None,
        timeframe: str | int | None,
    ) -> DecisionFrame:
        n = len(candles)
        c = candles.close
        base_tf = timeframe if timeframe is not None else infer_timeframe_ms(candles.ts)
        # strategies' own higher timeframes are resampled from `candles`, as live does (one truth)
        run = run_strategies(
            [s for s, _ in self.strategies], candles, None, self.budget_ms, timeframe=base_tf
        )
        regime = classify(candles, self.regime_params)

        num, den, term = np.zeros(n), np.zeros(n), np.empty(n)
        votes: list[Vote] = []
        mult: dict[Style, FloatArray] = {}  # one multiplier array per style, shared by its strategies
        for (strategy, w), sig in zip(self.strategies, run.signals, strict=True):
            if sig is None:
                zero = np.zeros(n, dtype=np.int8)
                votes.append(Vote(strategy, zero, np.zeros(n), np.zeros(n), timed_out=True))
                continue
            if strategy.style not in mult:
                mult[strategy.style] = regime.multiplier(strategy.style)
            weight = w * mult[strategy.style]
            # in place (one scratch array, no temporaries): num += weight * d * s; den += w where d != 0
            np.multiply(weight, sig.direction, out=term)
            term *= sig.strength
            num += term
            np.add(den, w, out=den, where=sig.direction != 0)
            votes.append(Vote(strategy, sig.direction, sig.strength, weight))
        net = np.zeros(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(num, den, out=net, where=den > 0)
            np.clip(net, -1.0, 1.0, out=net)
        side = np.sign(net).astype(np.int8)
        factor: FloatArray | None = None  # product of the optional factors below

        h_tf, h_trend, mtf = None, None, None
        if higher is not None:
            h_tf = higher_tf or self.config.higher_timeframe
            if h_tf is None:
                raise ConfigError(
                    "higher-timeframe candles given but no higher_tf (confluence.higher_timeframe)"
                )
            h_trend = self._higher_trend(candles, base_tf, higher, h_tf)
            # 1 when either is 0, confirm when they agree, against otherwise: a lookup at 3 h + side + 4
            yes, no = self.mtf_confirm, self.mtf_against
            lut = np.array([yes, 1.0, no, 1.0, 1.0, 1.0, no, 1.0, yes])
            mtf = lut.take(h_trend.astype(np.intp) * 3 + side + 4)
            factor = mtf

        aligned, micro_f = None, None
        if micro is not None:
            aligned = micro.align(candles.ts)
            micro_f = self._micro_factor(aligned, side)
            factor = micro_f if factor is None else factor * micro_f

        confidence = np.abs(net)
        if factor is not None:
            confidence *= factor
        np.minimum(confidence, 1.0, out=confidence)
        atr_v = atr(candles.high, candles.low, c, self.config.atr_period)
        with np.errstate(invalid="ignore"):
            go = (side != 0) & (confidence >= self.config.min_confidence) & ~np.isnan(atr_v)
        direction = np.where(go, side, 0).astype(np.int8)
        stop, take, stop_from, take_from = self._levels(c, atr_v, direction, votes, run.signals)
        return DecisionFrame(
            symbol=symbol,
            ts=candles.ts,
            close=c,
            direction=direction,
            confidence=confidence,
            stop=stop,
            take=take,
            atr=atr_v,
            votes=tuple(votes),
            regime=regime,
            min_confidence=self.config.min_confidence,
            higher_tf=h_tf,
            higher_trend=h_trend,
            mtf_factor=mtf,
            micro=aligned,
            micro_factor=micro_f,
            stop_from=stop_from,
            take_from=take_from,
        )

    def streamer(
        self, symbol: str, *, timeframe: str | int | None = None, higher_tf: str | None = None
    ) -> ConfluenceStream:
        """Per-pair O(1) live state; `update(candle, higher_closed, micro)` gives that bar's Decision.

        `higher_tf` switches the multi-timeframe confirmation on (as passing `higher` to `evaluate`);
        it then needs the base `timeframe` to refuse higher candles that have not closed yet.
        """
        from aitrader.confluence.streaming import ConfluenceStream  # it imports this module

        return ConfluenceStream(self, symbol, timeframe=timeframe, higher_tf=higher_tf)

    def evaluate_last(
        self,
        symbol: str,
        candles: OHLCV,
        higher: OHLCV | None = None,
        higher_tf: str | None = None,
        micro: Microstructure | None = None,
        *,
        timeframe: str | int | None = None,
    ) -> Decision:
        """The newest bar's Decision, computed over a bounded trailing window (the live path)."""
        if len(candles) == 0:
            raise StrategyError("evaluate_last needs at least one candle")
        window = candles.slice(max(0, len(candles) - self.history))
        # the interval from the window alone: a scan of the whole history would cost O(n) per candle
        base_tf = timeframe if timeframe is not None else infer_timeframe_ms(window.ts)
        if higher is not None:
            h_tf = higher_tf or self.config.higher_timeframe
            if h_tf is not None:
                last_close = int(candles.ts[-1]) + tf_ms(base_tf)
                k = int(np.searchsorted(higher.ts + tf_ms(h_tf), last_close, side="right"))
                higher = higher.slice(max(0, k - self.higher_history), k)
        frame = self.evaluate(symbol, window, higher, higher_tf, micro, timeframe=base_tf)
        return frame.decision_at(-1)

    def _higher_trend(self, candles: OHLCV, base_tf: str | int, higher: OHLCV, higher_tf: str) -> Int8Array:
        """+1/-1 when the last closed higher candle is above/below its EMA; 0 when unknown."""
        h_ema = ema(higher.close, self.mtf_ema)
        with np.errstate(invalid="ignore"):
            trend = np.where(np.isnan(h_ema), 0, np.sign(higher.close - h_ema)).astype(np.int8)
        # = trend[align_closed(...)] (0 where -1) as a step function: higher candle k is visible
        # from the first base bar closing at or after it closes; both series are sorted, so look
        # up the few higher closes among the base closes instead of every base bar among them
        base_close = candles.ts + tf_ms(base_tf)
        first = np.searchsorted(base_close, higher.ts + tf_ms(higher_tf), side="left")
        counts = np.diff(first, prepend=0, append=len(candles))
        return np.repeat(np.concatenate((np.zeros(1, np.int8), trend)), counts)

    def _micro_factor(self, m: Microstructure, side: Int8Array) -> FloatArray:
        parts = [m.flow_imbalance]
        if self.config.use_orderbook:
            parts.append(m.book_imbalance)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bars: no information
            imbalance = np.nan_to_num(np.nanmean(np.vstack(parts), axis=0))
        f = 1.0 + self.micro_weight * side * imbalance
        if self.config.use_orderbook:
            with np.errstate(invalid="ignore"):
                f = np.where(m.spread_bps > self.max_spread_bps, f * WIDE_SPREAD_FACTOR, f)
        return np.asarray(f, dtype=np.float64)

    def _levels(
        self,
        close: FloatArray,
        atr_v: FloatArray,
        direction: Int8Array,
        votes: list[Vote],
        signals: tuple[Signals | None, ...],
    ) -> tuple[FloatArray, FloatArray, Int8Array, Int8Array]:
        """ATR stop/take per bar, replaced by a voting strategy's hint where that is tighter."""
        cfg = self.config
        n = len(close)
        stop_all, take_all = np.full(n, np.nan), np.full(n, np.nan)
        stop_from_all = np.full(n, -1, dtype=np.int8)
        take_from_all = np.full(n, -1, dtype=np.int8)
        # only bars with a decision have levels (NaN / -1 elsewhere): work on those alone
        at = np.flatnonzero(direction)
        dir_at = direction[at]
        d = dir_at.astype(np.float64)
        c, a = close[at], atr_v[at]
        stop = c - d * cfg.stop_atr * a
        take = c + d * cfg.take_atr * a
        stop_from = np.full(len(at), -1, dtype=np.int8)
        take_from = np.full(len(at), -1, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            for k, (vote, sig) in enumerate(zip(votes, signals, strict=True)):
                if sig is None:
                    continue
                j = np.flatnonzero(vote.direction[at] == dir_at)  # decisions this vote agrees with
                bars, dj, cj = at[j], d[j], c[j]
                hint_stop, hint_take = sig.stop[bars], sig.take[bars]
                # tighter = closer to the close, but still on the protective side
                s_ok = (dj * (hint_stop - stop[j]) > 0) & (dj * (cj - hint_stop) > 0)
                t_ok = (dj * (take[j] - hint_take) > 0) & (dj * (hint_take - cj) > 0)
                stop[j[s_ok]] = hint_stop[s_ok]
                take[j[t_ok]] = hint_take[t_ok]
                stop_from[j[s_ok]] = k
                take_from[j[t_ok]] = k
        stop_all[at], take_all[at] = stop, take
        stop_from_all[at], take_from_all[at] = stop_from, take_from
        return stop_all, take_all, stop_from_all, take_from_all
