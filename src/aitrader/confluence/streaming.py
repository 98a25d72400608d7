"""The live decision path: one closed candle in, that bar's Decision out, O(1) per candle.

Why: `Confluence.evaluate_last` recomputes every strategy over a ~1,500-bar window for each new
candle (milliseconds per pair). `ConfluenceStream` keeps per-pair state instead: each strategy's
streamer (`Strategy.streamer()`), the streaming regime (ADX, ATR percentile rank), the ATR of the
levels and the higher timeframe's EMA, and applies the rule of `confluence.engine` to scalars.

Contract: feed every closed base candle of one pair, in order, once. For each candle, `update`
returns exactly what `Confluence.evaluate(...)` over all candles so far gives for that bar
(direction; confidence, stop and take to float rounding; the same reasons text and votes), or None
when no strategy signalled on the bar (then evaluate's decision is direction 0, confidence 0, with
the single reason "no strategy signalled on this bar"). Quiet bars still update every state.

* Higher timeframe: enabled by `higher_tf` at creation (as passing `higher` to evaluate). Pass each
  higher candle with the base candle at whose close it became closed (`higher_closed`, one candle or
  several in order); one that has not closed by then is refused, which keeps the path lookahead-free.
* Microstructure: `micro` is this bar's flow/book snapshot (a `Microstructure` holding a row at the
  candle's ts, e.g. `Microstructure.from_book`); without a row the bar has no micro factor, exactly
  as evaluate treats a bar whose row is missing.
* Strategies without their own streamer run through `WindowedStream` (compute over the trailing
  `history` window, O(history)). With a budget (`Confluence(budget_ms=...)`, else config
  `confluence.strategy_budget_ms`) every update is timed into `aitrader_strategy_runtime_seconds`
  (observed by `flush_metrics`, after the decision is out) and one over it is dropped like a
  timed-out strategy in `run_strategies`, reported in the reasons
  and in `aitrader_strategy_timeouts_total`. A `WindowedStream` is moreover run on the strategy
  pool and abandoned at the budget, so a user strategy that hangs cannot stall the loop; built-in
  streamers are O(1) per candle and run inline (a thread hand-off would cost more than they do).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from aitrader.confluence import reasons as R
from aitrader.confluence.engine import WIDE_SPREAD_FACTOR
from aitrader.confluence.microstructure import Microstructure
from aitrader.confluence.regime_stream import BarRegime, RegimeStream
from aitrader.core.candles import Candle
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError, StrategyError
from aitrader.indicators.streaming import ATR, EMA
from aitrader.metrics import STRATEGY_RUNTIME_SECONDS, STRATEGY_TIMEOUTS
from aitrader.strategies.streaming import QUIET, StreamSignal, WindowedStream
from aitrader.strategies.timeframes import tf_ms

if TYPE_CHECKING:
    from aitrader.confluence.engine import Confluence

NAN = math.nan
UNOBSERVED_MAX = 64  # updates whose strategy times may wait for `flush_metrics`


class ConfluenceStream:
    """Per-pair live state of a `Confluence`; create with `Confluence.streamer(symbol, ...)`."""

    def __init__(
        self,
        confluence: Confluence,
        symbol: str,
        *,
        timeframe: str | int | None = None,
        higher_tf: str | None = None,
    ) -> None:
        if higher_tf is not None and timeframe is None:
            raise ConfigError("a streaming confluence with a higher timeframe needs the base timeframe")
        self.confluence = confluence
        self.symbol = symbol
        self.strategies = tuple(s for s, _ in confluence.strategies)
        self._weights = tuple(w for _, w in confluence.strategies)
        self._styles = tuple(s.style for s in self.strategies)
        self._streams = tuple(s.streamer() for s in self.strategies)
        self._regime = RegimeStream(confluence.regime_params)
        cfg = confluence.config
        same_atr = confluence.regime_params.atr_period == cfg.atr_period
        self._atr = self._regime.atr if same_atr else ATR(cfg.atr_period)
        self._own_atr = not same_atr
        self._base_ms = None if timeframe is None else tf_ms(timeframe)
        self.higher_tf = higher_tf
        self._higher_ms = None if higher_tf is None else tf_ms(higher_tf)
        self._h_ema = EMA(confluence.mtf_ema)
        self._h_trend = 0
        self._h_last_ts: int | None = None
        self._last_ts: int | None = None
        budget_ms = confluence.budget_ms if confluence.budget_ms is not None else cfg.strategy_budget_ms
        self._budget_s = None if budget_ms is None else budget_ms / 1000.0
        for st in self._streams:  # a strategy without a streamer is abandoned at the budget, not awaited
            if isinstance(st, WindowedStream):
                st.budget_s = self._budget_s
        # metric children resolved once: `.labels()` per update would cost more than most updates
        names = [s.name for s in self.strategies]
        self._runtime = [STRATEGY_RUNTIME_SECONDS.labels(strategy=n) for n in names]
        self._timeouts = [STRATEGY_TIMEOUTS.labels(strategy=n) for n in names]
        # per strategy, the update times not yet observed into `_runtime` (see `flush_metrics`)
        self._unobserved: list[list[float]] = [[] for _ in names]

    def update(
        self,
        candle: Candle,
        higher_closed: Candle | Iterable[Candle] | None = None,
        micro: Microstructure | None = None,
    ) -> Decision | None:
        """This closed candle's Decision, or None when no strategy signalled (module docstring)."""
        ts = int(candle.ts)
        if self._last_ts is not None and ts <= self._last_ts:
            raise StrategyError(f"{self.symbol}: candle at {ts} is not after the last one ({self._last_ts})")
        if higher_closed is not None:
            self._push_higher(ts, higher_closed)
        self._last_ts = ts
        h, lo, c = candle.high, candle.low, candle.close
        regime = self._regime.update(h, lo, c)
        atr_v = self._atr.update(h, lo, c) if self._own_atr else self._atr.value
        signals, timed_out = self._signals(candle)
        if not timed_out and not any(sig.direction for sig in signals):
            return None
        return self._decide(candle, regime, atr_v, signals, timed_out, micro)

    def _signals(self, candle: Candle) -> tuple[list[StreamSignal], list[bool]]:
        if self._budget_s is None:
            return [s.update(candle) for s in self._streams], []
        out, late = [], []
        for i, stream in enumerate(self._streams):
            t0 = time.perf_counter()
            sig = stream.update(candle)
            elapsed = time.perf_counter() - t0
            self._unobserved[i].append(elapsed)
            over = elapsed > self._budget_s or getattr(stream, "timed_out", False)
            if over:
                self._timeouts[i].inc()
            out.append(QUIET if over else sig)
            late.append(over)
        if self._unobserved and len(self._unobserved[0]) >= UNOBSERVED_MAX:
            self.flush_metrics()
        return out, late if any(late) else []

    def flush_metrics(self) -> None:
        """Observe the strategy update times recorded since the last flush into
        `aitrader_strategy_runtime_seconds`. Why deferred: a histogram observation costs ~3 us, seven
        per update, on the path from a closing frame to its decision; the live decision source
        flushes when it hands the decision to the engine (after the decision exists), and `update`
        flushes by itself every `UNOBSERVED_MAX` updates so nothing piles up without one."""
        for child, pending in zip(self._runtime, self._unobserved, strict=True):
            for elapsed in pending:
                child.observe(elapsed)
            pending.clear()

    def _push_higher(self, ts: int, higher: Candle | Iterable[Candle]) -> None:
        if self._higher_ms is None or self._base_ms is None:
            raise ConfigError("higher-timeframe candles given but the stream has no higher_tf")
        for hc in (higher,) if isinstance(higher, Candle) else higher:
            hts = int(hc.ts)
            if hts + self._higher_ms > ts + self._base_ms:
                raise StrategyError(
                    f"{self.symbol}: {self.higher_tf} candle at {hts} has not closed by the close of "
                    f"the candle at {ts} (lookahead)"
                )
            if self._h_last_ts is not None and hts <= self._h_last_ts:
                raise StrategyError(f"{self.symbol}: {self.higher_tf} candle at {hts} is not new")
            self._h_last_ts = hts
            e = self._h_ema.update(hc.close)
            d = hc.close - e
            self._h_trend = 0 if e != e else (d > 0) - (d < 0)

    def _decide(
        self,
        candle: Candle,
        regime: BarRegime,
        atr_v: float,
        signals: list[StreamSignal],
        timed_out: list[bool],
        micro: Microstructure | None,
    ) -> Decision:
        conf = self.confluence
        cfg = conf.config
        num = den = 0.0
        weights = []
        for w, style, sig in zip(self._weights, self._styles, signals, strict=True):
            weight = w * regime.multiplier(style)
            weights.append(weight)
            if sig.direction:
                num += weight * sig.direction * sig.strength
                den += w
        net = min(max(num / den, -1.0), 1.0) if den > 0 else 0.0
        side = (net > 0) - (net < 0)
        factor = 1.0
        mtf = 1.0
        if self.higher_tf is not None:
            h = self._h_trend
            mtf = 1.0 if h == 0 or side == 0 else conf.mtf_confirm if h == side else conf.mtf_against
            factor *= mtf
        row = _micro_row(micro, int(candle.ts)) if micro is not None else None
        micro_f = 1.0
        if row is not None:
            micro_f = self._micro_factor(row, side)
            factor *= micro_f
        confidence = min(abs(net) * factor, 1.0)
        go = side != 0 and confidence >= cfg.min_confidence and atr_v == atr_v
        direction = side if go else 0
        stop, take, stop_k, take_k = self._levels(candle.close, atr_v, direction, signals)

        reasons: list[str] = []
        for k, (strategy, sig) in enumerate(zip(self.strategies, signals, strict=True)):
            if timed_out and timed_out[k]:
                reasons.append(R.timed_out_reason(strategy))
            elif sig.direction:
                reasons.append(R.vote_reason(strategy, sig.direction, sig.strength, weights[k]))
        votes = tuple(
            (s.name, sig.direction, weights[k])
            for k, (s, sig) in enumerate(zip(self.strategies, signals, strict=True))
            if sig.direction
        )
        if not votes:
            reasons.append(R.NO_SIGNAL)
        else:
            net_sign = (num > 0) - (num < 0)
            reasons.append(regime.describe())
            if self.higher_tf is not None:
                reasons.append(R.mtf_reason(self.higher_tf, self._h_trend, net_sign, mtf))
            if row is not None:
                reasons.extend(R.micro_reasons(row[0], row[1], row[2], row[3], micro_f))
            reasons.append(
                R.verdict_reason(
                    direction,
                    confidence,
                    cfg.min_confidence,
                    atr_v,
                    net_sign,
                    stop,
                    take,
                    R.level_source(self.strategies, stop_k),
                    R.level_source(self.strategies, take_k),
                )
            )
        return Decision(
            ts=int(candle.ts),
            symbol=self.symbol,
            direction=direction,
            confidence=confidence,
            price=float(candle.close),
            stop=stop if direction else None,
            take=take if direction else None,
            reasons=tuple(reasons),
            strategy_votes=votes,
        )

    def _micro_factor(self, row: tuple[float, float, float, str], side: int) -> float:
        """`Confluence._micro_factor` for one bar (nanmean of flow and book, wide-spread damping)."""
        flow, book, spread, _ = row
        use_book = self.confluence.config.use_orderbook
        parts = [x for x in ((flow, book) if use_book else (flow,)) if x == x]
        imbalance = (sum(parts) / len(parts)) if parts else 0.0  # nanmean, all-NaN -> 0
        f = 1.0 + self.confluence.micro_weight * side * imbalance
        if use_book and spread > self.confluence.max_spread_bps:
            f *= WIDE_SPREAD_FACTOR
        return f

    def _levels(
        self, close: float, atr_v: float, direction: int, signals: list[StreamSignal]
    ) -> tuple[float, float, int, int]:
        """`Confluence._levels` for one bar: ATR levels, replaced by tighter agreeing hints."""
        if direction == 0:
            return NAN, NAN, -1, -1
        cfg = self.confluence.config
        d = float(direction)
        stop = close - d * cfg.stop_atr * atr_v
        take = close + d * cfg.take_atr * atr_v
        stop_k = take_k = -1
        for k, sig in enumerate(signals):
            if sig.direction != direction:
                continue
            hs, ht = sig.stop, sig.take
            if d * (hs - stop) > 0 and d * (close - hs) > 0:
                stop, stop_k = hs, k
            if d * (take - ht) > 0 and d * (ht - close) > 0:
                take, take_k = ht, k
        return stop, take, stop_k, take_k


def _micro_row(m: Microstructure, ts: int) -> tuple[float, float, float, str] | None:
    """(flow, book, spread, flow method) of the row at `ts`, None when `m` has no such row."""
    n = len(m.ts)
    i = 0 if n == 1 else int(np.searchsorted(m.ts, ts))
    if i >= n or int(m.ts[i]) != ts:
        return None
    return float(m.flow_imbalance[i]), float(m.book_imbalance[i]), float(m.spread_bps[i]), m.flow_method
