"""StreamingDecisions: the live `DecisionSource`, one `Confluence.streamer` per pair (O(1) per candle).

Why a stream and not `Confluence.evaluate_last`: the windowed path recomputes every strategy over
~1,000 bars for each closed candle (milliseconds per pair per candle); `ConfluenceStream.update`
keeps per-pair state and, fed every closed candle once and in order, returns exactly what the
backtest's `Confluence.evaluate` over all candles so far gives for that bar - so paper decisions
equal backtest decisions by construction (tests/runtime/test_parity.py).

Feeding: `prime()` runs each pair's stream through the REST warm-up history (up to the last candle
the engine already handled, `LiveFeed.handled_upto`) before live candles arrive, so the first live
decision is not a cold start and does not pay for the history. `decision` then feeds, from the
candle cache cut at the event's candle, every closed candle the stream has not seen (normally just
the event's), so a candle released later never leaks into an earlier decision. Higher-timeframe
candles come from the cache's roll-ups, each given with the first base candle at whose close it
had closed (the stream refuses any other: lookahead-free).

Eagerly: the session wires `precompute` to `LiveFeed.on_closed`, so each pair's decision is computed
as soon as the frame closing its candle arrives (it depends on that pair's candles only), kept by
(symbol, open time), and `decision` hands it out when the engine reaches the candle in the ordered
release - as the backtest precomputes decisions before its engine loop. A candle with nothing kept
(no hook wired, e.g. a bare feed in tests) is computed in `decision` as before; either way the
stream sees each pair's candles once and in order, so the results are the same.

Every evaluated bar goes to `on_thought` for the dashboard's thoughts (a bar where no strategy
signalled as a direction-0 Decision, as `evaluate` reports it); only non-zero ones reach the engine.
Per-strategy signal counts and evaluation time feed the published strategy stats.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from aitrader.confluence import Confluence
from aitrader.confluence import reasons as R
from aitrader.confluence.microstructure import Microstructure
from aitrader.confluence.streaming import ConfluenceStream
from aitrader.core.candles import Candle
from aitrader.core.decisions import Decision
from aitrader.core.ports import CandleClosed
from aitrader.core.time import timeframe_to_ms
from aitrader.metrics import SCAN_LOOP_SECONDS
from aitrader.runtime.feed import LiveFeed


class StreamingDecisions:
    def __init__(
        self,
        confluence: Confluence,
        feed: LiveFeed,
        higher_timeframe: str | None,
        on_thought: Callable[[Decision], object] | None = None,
        keep: bool = False,
        micro: Callable[[str, int], Microstructure | None] | None = None,
    ) -> None:
        self.confluence = confluence
        self.feed = feed
        self.higher = higher_timeframe if higher_timeframe != feed.timeframe else None
        self.h_ms = timeframe_to_ms(self.higher) if self.higher else 0
        self.on_thought = on_thought
        self.micro = micro  # (symbol, bar open time) -> that bar's book snapshot, e.g. LiveFeed.book_micro
        self.with_book = 0  # live decisions that had a book snapshot
        self.decisions: list[Decision] | None = [] if keep else None  # non-zero ones, for tests/reports
        self.signals: Counter[str] = Counter()
        self.evaluated = 0
        self.runtime_ms = 0.0
        self.streams: dict[str, ConfluenceStream] = {}
        self.fed: dict[str, int] = {}  # pair -> open time of the last base candle its stream was given
        self.h_fed: dict[str, int] = {}  # pair -> open time of the last higher candle given
        # pair -> candle open time -> (update result, compute ms), computed at close, not handed out yet
        self.ready: dict[str, dict[int, tuple[Decision | None, float]]] = {}

    # ------------------------------------------------------------------ feeding the streams
    def _stream(self, symbol: str) -> ConfluenceStream:
        s = self.streams.get(symbol)
        if s is None:
            s = self.streams[symbol] = self.confluence.streamer(
                symbol, timeframe=self.feed.timeframe, higher_tf=self.higher
            )
        return s

    def _new_base(self, symbol: str, upto_ts: int) -> list[Candle]:
        """Cached closed candles of `symbol` after the last one fed, with open time <= `upto_ts`."""
        cache, tf_ms = self.feed.cache, self.feed.tf_ms
        last = cache.last_closed(symbol)
        fed = self.fed.get(symbol, -1)
        if last is None or last.ts <= fed:
            return []
        if last.ts == upto_ts == fed + tf_ms:  # the usual case: just the candle that closed now
            return [last]
        # open times are distinct multiples of tf_ms: at most this many lie in (fed, last]
        n = None if fed < 0 else (last.ts - fed) // tf_ms
        w = cache.window(symbol, n=n)
        return [c for c in (w.candle(i) for i in range(len(w))) if fed < c.ts <= upto_ts]

    def _new_higher(self, symbol: str, close_ms: int) -> list[Candle]:
        """Cached higher candles of `symbol` closed by `close_ms` and not given yet, oldest first."""
        assert self.higher is not None
        cache = self.feed.cache
        last = cache.last_closed(symbol, self.higher)
        done = self.h_fed.get(symbol, -1)
        if last is None or last.ts <= done or done + 2 * self.h_ms > close_ms:
            return []
        n = None if done < 0 else (last.ts - done) // self.h_ms
        w = cache.window(symbol, self.higher, n=n)
        out = [
            c for c in (w.candle(i) for i in range(len(w))) if done < c.ts and c.ts + self.h_ms <= close_ms
        ]
        if out:
            self.h_fed[symbol] = out[-1].ts
        return out

    def catch_up(self, symbol: str, upto_ts: int, live: bool = False) -> tuple[int | None, Decision | None]:
        """Feed `symbol`'s stream every closed cached candle up to open time `upto_ts` it has not
        seen; returns (open time of the last candle fed or None, that candle's update result).
        `live`: `upto_ts` closed just now, so the current order book (`micro`) is its close's book;
        older candles (warm-up, catch-up after a gap) are decided without one."""
        stream = self._stream(symbol)
        tf_ms = self.feed.tf_ms
        last_ts: int | None = None
        d: Decision | None = None
        for c in self._new_base(symbol, upto_ts):
            higher = self._new_higher(symbol, c.ts + tf_ms) if self.higher else None
            book = self.micro(symbol, c.ts) if live and self.micro is not None and c.ts == upto_ts else None
            self.with_book += book is not None
            d = stream.update(c, higher or None, book)
            self.fed[symbol] = last_ts = c.ts
        return last_ts, d

    def prime(self) -> None:
        """Every pair's stream through the warm-up history the engine will not be handed as events
        (call after `LiveFeed.warm_up`)."""
        for symbol in self.feed.symbols:
            self.catch_up(symbol, self.feed.handled_upto(symbol))

    def precompute(self, event: CandleClosed) -> None:
        """Compute the decision of `event`'s candle now (its pair's stream fed up to it) and keep it
        for `decision`; nothing when the stream already had that candle (warm-up history)."""
        symbol, ts = event.symbol, event.candle.ts
        if ts <= self.fed.get(symbol, -1):
            return
        t0 = time.perf_counter()
        last_ts, d = self.catch_up(symbol, ts, live=True)
        if last_ts == ts:
            self.ready.setdefault(symbol, {})[ts] = (d, (time.perf_counter() - t0) * 1000.0)

    def is_ready(self, symbol: str, ts: int) -> bool:
        return ts in self.ready.get(symbol, {})

    # ------------------------------------------------------------------ DecisionSource
    def decision(self, symbol: str, event: CandleClosed) -> Decision | None:
        ts = event.candle.ts
        kept = self.ready.get(symbol)
        got = kept.pop(ts, None) if kept else None
        if kept:  # anything older was never asked for (released past): drop it
            for old in [t for t in kept if t < ts]:
                del kept[old]
        if got is not None:
            d, took_ms = got
        else:
            t0 = time.perf_counter()
            last_ts, d = self.catch_up(symbol, ts, live=True)
            if last_ts != ts:  # already fed (warm-up history) or not in the cache
                return None
            took_ms = (time.perf_counter() - t0) * 1000.0
        stream = self.streams.get(symbol)
        if stream is not None:  # its strategy timings, kept off the close-to-decision path
            stream.flush_metrics()
        self.runtime_ms += took_ms
        SCAN_LOOP_SECONDS.observe(took_ms / 1000.0)
        self.evaluated += 1
        if d is None:  # no strategy signalled: evaluate's direction-0 decision
            c = event.candle
            d = Decision(
                ts=ts, symbol=symbol, direction=0, confidence=0.0, price=c.close, reasons=(R.NO_SIGNAL,)
            )
        for name, direction, _w in d.strategy_votes:
            if direction != 0:
                self.signals[name] += 1
        if self.on_thought is not None:
            self.on_thought(d)
        if d.direction == 0:
            return None
        if self.decisions is not None:
            self.decisions.append(d)
        return d

    @property
    def avg_runtime_ms(self) -> float:
        return self.runtime_ms / self.evaluated if self.evaluated else 0.0
