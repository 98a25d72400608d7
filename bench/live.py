"""Live-path benchmark (issue #5): 50 pairs streaming from the Kraken simulator through a paper session.

What runs:
- the simulator (`KrakenSimulator`, WS v2) in its own process, so its CPU is not ours, replaying 50
  pairs of deterministic synthetic 1m random walks (seed 42) at `--closes-per-s` candle closes per
  second per pair, and pushing each pair's forming candle `--push-hz` times a second between candle
  boundaries (`push_hz`), i.e. >= 2,000 WS messages/s in total;
- in this process the real paper session (`runtime.session.Session`, paper mode, API off): REST
  warm-up, one ccxt.pro `watch_ohlcv` stream per pair (plus its ticker and book with
  `--with-ticker-book`) -> `LiveFeed` (CandleCache, ordered release)
  -> the engine loop -> its `DecisionSource` -> risk -> SimulatedVenue, every step persisted through
  the `StorageWriter` on a temporary SQLite.

What is measured (only over the `--seconds` window after the first `--settle` seconds of streaming):
- messages/s: WS frames ccxt hands to `exchange.handle_message` in this process (all channels);
- message-to-decision latency, per closed candle: from the moment ccxt hands our process the frame
  that opens the next candle of that pair (the frame that closes this one) to the moment the
  decision for that candle is produced (direction 0 included): the session computes it as the
  closing frame goes through the feed (`LiveFeed.on_closed` -> `StreamingDecisions.precompute`), so
  this covers ccxt's parsing, the event loop's scheduling of the pair's watch task, the cache and
  the decision itself; a candle without a precomputed decision ends at `decisions.decision`'s
  return. Not the kernel/socket time before ccxt;
- message-to-engine hand-out latency (also printed): to the moment the engine, in the ordered
  release (a candle waits until every pair's stream reached its close), gets that decision from
  `decisions.decision(symbol, event)` - including the engine's queue and the risk/venue/persist
  work of candles ahead of it in the same batch;
- close burst (also printed): the pairs' candles close together, so their closing frames come in a
  few socket reads, spread over some ms by the simulator; how long after the last of them the
  last pair's decision is produced. ccxt's client hands over one frame per event-loop turn
  (`venues.ws_client`), so a frame's decision does not wait for the parsing of the frames behind
  it, but the burst as a whole still costs every pair's work;
- CPU share of this process and of the simulator process (psutil; 100 % = one core);
- StorageWriter queue depth, sampled every 20 ms (peak and at the end of the window);
- machine load (os.getloadavg before and after) and core count.

Targets: >= 2,000 messages/s, p99 message-to-decision < 5 ms. Bounded: ~warm-up + settle + seconds,
the simulator child is killed at exit and stops itself after `--seconds` + 120 s in any case.
Run: .venv/bin/python bench/live.py [--pairs 50] [--seconds 15] [--push-hz 50] [--closes-per-s 1]
     [--decisions session|stream]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

TF = "1m"
TF_MS = 60_000
START_MS = 1_640_995_200_000  # 2022-01-01T00:00:00Z
# the replay starts at candle 720: the simulator answers an OHLC request without `since` with the
# first 720 candles, so the session's REST warm-up (720) then reaches the replay's now
WARMUP_CANDLES = 720
# 50 bases, all quoted in USD (names only: the candles are synthetic)
_NAMES = "BTC ETH SOL XRP ADA DOGE DOT LTC LINK TRX AVAX ATOM XLM ETC BCH FIL NEAR UNI AAVE ALGO XTZ EOS MKR"
_NAMES += (
    " COMP SNX GRT SAND MANA AXS CRV SUSHI YFI BAT ZEC DASH KSM FLOW ICP APE OP ARB INJ RUNE LDO STX IMX"
)
BASES = tuple(f"{_NAMES} EGLD KAVA ENJ QTUM".split())
TARGET_RATE = 2000.0
TARGET_P99_MS = 5.0


# --------------------------------------------------------------------------- data
def write_series(folder: Path, pairs: int, candles: int, seed: int = 42) -> list[Path]:
    """Deterministic GBM 1m candles with clustered volatility (the model of shared/bench/gen_data.py)."""
    ss = np.random.SeedSequence(seed).spawn(pairs)
    out = []
    for k, base in enumerate(BASES[:pairs]):
        rng = np.random.default_rng(ss[k])
        p0 = float(10 ** rng.uniform(0, 4))
        logvol = np.zeros(candles)
        eta = rng.standard_normal(candles) * 0.05
        for i in range(1, candles):
            logvol[i] = 0.995 * logvol[i - 1] + eta[i]
        sigma = 0.0011 * np.exp(logvol - logvol.mean())
        rets = sigma * rng.standard_normal(candles) - 0.5 * sigma**2
        close = p0 * np.exp(np.cumsum(rets))
        open_ = np.concatenate(([p0], close[:-1]))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(candles)) * 0.5 * sigma)
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(candles)) * 0.5 * sigma)
        vol = rng.lognormal(3.0, 1.0, candles) * (sigma / 0.0011)
        dec = max(2, 8 - int(np.floor(np.log10(p0))))
        o, h, lo, c = (np.round(x, dec) for x in (open_, high, low, close))
        o[1:] = c[:-1]
        h, lo = np.maximum(h, np.maximum(o, c)), np.minimum(lo, np.minimum(o, c))
        path = folder / f"kraken_{base}_USD-{TF}.csv"
        with path.open("w", encoding="utf-8") as fh:
            fh.write("timestamp,open,high,low,close,volume\n")
            for i in range(candles):
                fh.write(
                    f"{START_MS + i * TF_MS},{o[i]:.{dec}f},{h[i]:.{dec}f},{lo[i]:.{dec}f},"
                    f"{c[i]:.{dec}f},{vol[i]:.4f}\n"
                )
        out.append(path)
    return out


# --------------------------------------------------------------------------- simulator child
def serve(args: argparse.Namespace) -> None:
    """The simulator process: prints {"base_url", "ws_url"} once serving, stops on stdin EOF or timeout."""
    from aitrader.venues.simulator import KrakenSimulator, load_series

    series = [load_series(p) for p in sorted(Path(args.serve).glob("*.csv"))]
    start = START_MS + WARMUP_CANDLES * TF_MS
    sim = KrakenSimulator(
        series, start_ms=start, speed=args.closes_per_s * TF_MS / 1000.0, push_hz=args.push_hz
    )

    async def main() -> None:
        await sim.start("127.0.0.1", 0)
        print(json.dumps({"base_url": sim.base_url, "ws_url": sim.ws_url}), flush=True)
        loop = asyncio.get_running_loop()
        eof = loop.run_in_executor(None, sys.stdin.read)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(eof, args.max_s)
        await sim.stop()

    asyncio.run(main())
    os._exit(0)  # the stdin reader thread may still be blocked


# --------------------------------------------------------------------------- O(1) decisions
def streamed_decisions(base: Any) -> Any:
    """The session's `StreamingDecisions` with `decision` computed by `Confluence.streamer` per pair
    (O(1) per candle) instead of `evaluate_last` over the window: same inputs (the feed's cache cut at
    the event's candle), same stats and thoughts. A pair's stream is fed the cached history on its
    first decision."""
    from aitrader.confluence.streaming import ConfluenceStream
    from aitrader.core.candles import OHLCV
    from aitrader.core.ports import CandleClosed
    from aitrader.runtime.decisions import StreamingDecisions
    from aitrader.strategies.timeframes import tf_ms

    class StreamedDecisions(StreamingDecisions):
        def __init__(self) -> None:
            super().__init__(base.confluence, base.feed, base.higher, base.on_thought)
            self.streams: dict[str, ConfluenceStream] = {}
            self.h_ms = tf_ms(self.higher) if self.higher else 0
            self.h_done: dict[str, int] = {}  # pair -> open time of the last higher candle given
            self.fed: dict[str, int] = {}  # pair -> open time of the last base candle given

        def _higher(self, symbol: str, higher: OHLCV | None, close_ms: int) -> list[Any]:
            if higher is None or len(higher) == 0:
                return []
            k = int(np.searchsorted(higher.ts + self.h_ms, close_ms, side="right"))
            j = int(np.searchsorted(higher.ts, self.h_done.get(symbol, -1), side="right"))
            if k <= j:
                return []
            self.h_done[symbol] = int(higher.ts[k - 1])
            return [higher.candle(i) for i in range(j, k)]

        def catch_up(self, symbol: str, upto_ts: int) -> Any:
            """Feed the pair's stream every cached closed candle up to `upto_ts` it has not seen;
            returns the last update's result (None when nothing was new)."""
            feed = self.feed
            stream = self.streams.get(symbol)
            if stream is None:
                stream = self.streams[symbol] = self.confluence.streamer(
                    symbol, timeframe=feed.timeframe, higher_tf=self.higher
                )
            window = feed.window(symbol, upto_ts)
            higher = feed.window(symbol, upto_ts, self.higher) if self.higher else None
            first = int(np.searchsorted(window.ts, self.fed.get(symbol, -1), side="right"))
            d = None
            for i in range(first, len(window)):
                c = window.candle(i)
                d = stream.update(c, self._higher(symbol, higher, c.ts + feed.tf_ms) or None)
                self.fed[symbol] = c.ts
            return d

        def prime(self) -> None:
            """Every pair's stream through its warm-up history (before streaming starts)."""
            for symbol in self.feed.symbols:
                last = self.feed.cache.last_closed(symbol)
                if last is not None:
                    self.catch_up(symbol, last.ts)

        def decision(self, symbol: str, event: CandleClosed) -> Any:
            ts = event.candle.ts
            if ts <= self.fed.get(symbol, -1):
                return None  # warm-up history
            t0 = time.perf_counter()
            d = self.catch_up(symbol, ts)
            if self.fed.get(symbol) != ts:
                return None
            self.runtime_ms += (time.perf_counter() - t0) * 1000.0
            self.evaluated += 1
            if d is None:
                return None
            for name, direction, _w in d.strategy_votes:
                if direction != 0:
                    self.signals[name] += 1
            if self.on_thought is not None:
                self.on_thought(d)
            if d.direction == 0:
                return None
            return d

    return StreamedDecisions()


# --------------------------------------------------------------------------- measurement
@dataclass
class Probe:
    """Frame arrivals (ccxt -> handle_message) and decision times, perf_counter seconds."""

    frames: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    opened: dict[tuple[str, str], float] = field(default_factory=dict)  # (symbol, interval_begin) -> t
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (frame t, latency s)
    handouts: list[tuple[float, float]] = field(default_factory=list)  # (frame t, to the engine's call s)
    produced: dict[tuple[str, int], float] = field(default_factory=dict)  # (symbol, ts) -> t computed
    # (frame t, close ms, decision call start t, decision end t) for the breakdown
    calls: list[tuple[float, int, float, float]] = field(default_factory=list)
    # candle open ms -> [first closing frame t, last decision t] over the pairs (the close's burst)
    bursts: dict[int, list[float]] = field(default_factory=dict)
    missing: int = 0
    decisions: int = 0
    signals: int = 0
    first_frame: float | None = None
    depth: list[tuple[float, int]] = field(default_factory=list)

    def on_frame(self, message: Any) -> None:
        t = time.perf_counter()
        self.frames += 1
        if self.first_frame is None:
            self.first_frame = t
        if isinstance(message, dict):
            ch = str(message.get("channel", "?"))
            self.by_channel[ch] = self.by_channel.get(ch, 0) + 1
            if ch == "ohlc" and message.get("type") == "update":
                for row in message.get("data") or ():
                    self.opened.setdefault((row["symbol"], row["interval_begin"]), t)

    def on_decision(self, symbol: str, candle_ts: int, produced: object, started: float) -> None:
        from aitrader.venues.simulator.kraken_format import iso

        t = time.perf_counter()
        self.decisions += 1
        self.signals += produced is not None
        frame_t = self.opened.get((symbol, iso(candle_ts + TF_MS)))
        if frame_t is None:
            self.missing += 1  # closed by REST warm-up history, not by a streamed frame
            return
        made = self.produced.pop((symbol, candle_ts), t)  # computed ahead, else by this call
        self.latencies.append((frame_t, made - frame_t))
        self.handouts.append((frame_t, t - frame_t))
        self.calls.append((frame_t, candle_ts, started, t))
        b = self.bursts.setdefault(candle_ts, [frame_t, made])
        b[0], b[1] = min(b[0], frame_t), max(b[1], made)


def cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def pct(xs: np.ndarray, q: float) -> float:
    return float(np.percentile(xs, q)) if len(xs) else float("nan")


async def run(args: argparse.Namespace) -> bool:
    from aitrader.config import load_settings
    from aitrader.runtime.session import Session, SessionOptions
    from aitrader.storage.db import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="aitrader-bench-live-"))
    data = tmp / "data"
    data.mkdir()
    candles = WARMUP_CANDLES + int((args.settle + args.seconds + 90) * args.closes_per_s) + 10
    t0 = time.perf_counter()
    write_series(data, args.pairs, candles)
    took = time.perf_counter() - t0
    print(f"data: {args.pairs} pairs x {candles} 1m candles (synthetic, seed 42) in {took:.1f} s")
    child = subprocess.Popen(
        [
            sys.executable, __file__, "--serve", str(data), "--push-hz", str(args.push_hz),
            "--closes-per-s", str(args.closes_per_s), "--max-s", str(args.settle + args.seconds + 120),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 60)
        urls = json.loads(line)
        sim_proc = psutil.Process(child.pid)
        probe = Probe()
        pairs = [f"{b}/USD" for b in BASES[: args.pairs]]
        settings = load_settings(
            None,
            mode="paper",
            tenant="bench",
            exchange={
                "name": "kraken",
                "pairs": pairs,
                "api_url": urls["base_url"],
                "ws_url": urls["ws_url"],
                # ccxt throttles WS subscriptions with the REST token bucket (kraken: 1 per 1,000 ms),
                # so 50 pairs would take ~50 s to subscribe; the simulator is on loopback
                "rate_limit_ms": args.rate_limit_ms,
            },
            # candles only by default (what the targets are about); --with-ticker-book adds the ticker
            # and order-book streams a default session also opens (3 subscriptions per pair)
            data={
                "timeframe": TF,
                "datadir": str(tmp / "datadir"),
                "stream_ticker": args.with_ticker_book,
                "stream_book": args.with_ticker_book,
            },
            backtest={"starting_balance": "100000"},
            storage={"url": f"sqlite:///{tmp / 'bench.db'}"},
        )

        class BenchSession(Session):
            """The paper session with two probes put in after assembly (nothing else changed)."""

            async def assemble(self) -> None:
                await super().assemble()
                if args.decisions == "stream":
                    streamed = streamed_decisions(self.decisions)
                    self.decisions = self.engine.decisions = streamed
                    warm_up = self.feed.warm_up

                    async def warm_up_then_prime(resume_after: Any = None) -> int:
                        queued = await warm_up(resume_after)
                        t = time.perf_counter()
                        streamed.prime()
                        print(f"streams primed with the warm-up history in {time.perf_counter() - t:.1f} s")
                        return queued

                    self.feed.warm_up = warm_up_then_prime  # type: ignore[method-assign]
                    self.feed.on_closed = None  # the replacement computes in `decision`
                closed = self.feed.on_closed
                if closed is not None:
                    ready = self.decisions.is_ready

                    def on_closed(ev: Any) -> None:
                        closed(ev)
                        if ready(ev.symbol, ev.candle.ts):
                            probe.produced[(ev.symbol, ev.candle.ts)] = time.perf_counter()

                    self.feed.on_closed = on_closed
                ex = self.exchange
                handle = ex.handle_message  # ccxt.pro binds it when the first stream connects (later)

                def handle_message(client: Any, message: Any) -> Any:
                    probe.on_frame(message)
                    return handle(client, message)

                ex.handle_message = handle_message
                decide = self.decisions.decision

                def decision(symbol: str, event: Any) -> Any:
                    started = time.perf_counter()
                    d = decide(symbol, event)
                    probe.on_decision(symbol, event.candle.ts, d, started)
                    return d

                self.decisions.decision = decision  # type: ignore[method-assign]

        db = make_engine(settings.storage.url)
        session = BenchSession(settings, db, SessionOptions(mode="paper", duration_s=None))
        me = psutil.Process()
        window: dict[str, float] = {}

        async def sampler() -> None:
            limit = time.perf_counter() + 120
            while probe.first_frame is None:
                if time.perf_counter() > limit:
                    session.supervisor.request_stop("no stream frames within 120 s")
                    return
                await asyncio.sleep(0.05)
            await asyncio.sleep(args.settle)
            window.update(
                t0=time.perf_counter(), frames0=probe.frames, cpu0=cpu_s(me), sim0=cpu_s(sim_proc),
                load0=os.getloadavg()[0],
            )  # fmt: skip
            end = window["t0"] + args.seconds
            while (now := time.perf_counter()) < end:
                writer = getattr(session, "writer", None)
                if writer is not None:
                    probe.depth.append((now, writer.queue_depth))
                await asyncio.sleep(0.02)
            window.update(
                t1=time.perf_counter(), frames1=probe.frames, cpu1=cpu_s(me), sim1=cpu_s(sim_proc),
                load1=os.getloadavg()[0], depth_end=session.writer.queue_depth,
            )  # fmt: skip
            session.supervisor.request_stop("bench window over")

        task = asyncio.create_task(sampler())
        try:
            bound = args.settle + args.seconds + 300
            result = await asyncio.wait_for(session.run(install_signals=False), bound)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            db.dispose()
    finally:
        with contextlib.suppress(Exception):
            if child.stdin is not None:
                child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()

    if "t1" not in window:
        print(f"no measurement window (session stopped: {result.stop_reason})")
        return False
    span = window["t1"] - window["t0"]
    rate = (window["frames1"] - window["frames0"]) / span
    lat = np.array([d for t, d in probe.latencies if window["t0"] <= t < window["t1"]]) * 1000.0
    depths = [d for _, d in probe.depth]
    cpu = (window["cpu1"] - window["cpu0"]) / span * 100.0
    sim_cpu = (window["sim1"] - window["sim0"]) / span * 100.0
    p50, p99 = pct(lat, 50), pct(lat, 99)
    source = type(session.decisions).__name__
    print(
        f"session: paper, {len(pairs)} pairs {TF}, decisions by {source}; "
        f"{result.candles} candles handled, {probe.decisions} decisions ({probe.signals} non-zero), "
        f"{result.orders} orders, {result.fills} fills; stop: {result.stop_reason}"
    )
    print(
        f"window: {span:.1f} s after {args.settle:g} s of streaming; simulator push {args.push_hz:g} Hz/pair,"
        " "
        f"{args.closes_per_s:g} candle close(s)/s/pair; frames by channel (whole run): {probe.by_channel}"
    )
    print(f"messages/s received:            {rate:8.0f}    target >= {TARGET_RATE:,.0f}")
    print(f"message->decision p50:          {p50:8.2f} ms  ({len(lat)} closed candles in the window)")
    print(f"message->decision p99:          {p99:8.2f} ms  target < {TARGET_P99_MS:g} ms")
    print(f"message->decision max:          {float(lat.max()) if len(lat) else float('nan'):8.2f} ms")
    hand = np.array([d for t, d in probe.handouts if window["t0"] <= t < window["t1"]]) * 1000.0
    print(
        f"message->engine hand-out p50/p99/max: {pct(hand, 50):.2f}/{pct(hand, 99):.2f}/"
        f"{float(hand.max()) if len(hand) else float('nan'):.2f} ms  (ordered release + engine steps)"
    )
    calls = [c for c in probe.calls if window["t0"] <= c[0] < window["t1"]]
    last_frame: dict[int, float] = {}
    for frame_t, close, _s, _e in calls:
        last_frame[close] = max(last_frame.get(close, 0.0), frame_t)
    wait = np.array([s - f for f, _c, s, _e in calls]) * 1000.0
    after_all = np.array([e - last_frame[c] for _f, c, _s, e in calls]) * 1000.0
    call = np.array([e - s for _f, _c, s, e in calls]) * 1000.0
    print(
        f"  breakdown p50/p99 ms: frame -> decision call starts {pct(wait, 50):.2f}/{pct(wait, 99):.2f}; "
        f"decision call {pct(call, 50):.3f}/{pct(call, 99):.3f}; from the last of the {len(pairs)} pairs' "
        f"frames for that close (ordered release satisfied) to the decision {pct(after_all, 50):.2f}/"
        f"{pct(after_all, 99):.2f}"
    )
    # the whole burst of one close time: the simulator sends the pairs' closing frames over some ms
    # (spread), and the last decision of the burst comes after the work of every pair ahead of it
    # (time in the socket buffer not included)
    closes = [(ts, b) for ts, b in probe.bursts.items() if ts in last_frame]
    spread = np.array([last_frame[ts] - b[0] for ts, b in closes]) * 1000.0
    tail = np.array([b[1] - last_frame[ts] for ts, b in closes]) * 1000.0

    def p50_max(xs: np.ndarray) -> str:
        return f"{pct(xs, 50):.2f}/{float(xs.max()) if len(xs) else float('nan'):.2f}"

    print(
        f"  close burst ({len(pairs)} pairs' closes of one candle) p50/max ms: closing frames spread over "
        f"{p50_max(spread)}; last decision after the last closing frame {p50_max(tail)}"
    )
    avg = getattr(session.decisions, "avg_runtime_ms", None)
    if avg is not None:
        print(f"decision compute alone (avg):   {avg:8.2f} ms  ({source}, whole run)")
    if os.environ.get("BENCH_LIVE_DUMP"):
        print(f"WINDOW0 {window['t0']:.6f} (perf_counter; rows: frame time from it, latency ms)")
        for t, d in probe.latencies:
            print(f"  {t - window['t0']:8.3f} {d * 1000:9.2f}")
    print(f"CPU, this process:              {cpu:8.1f} %   (100 % = one core; {psutil.cpu_count()} cores)")
    print(f"CPU, simulator process:         {sim_cpu:8.1f} %")
    print(
        f"DB write queue depth:           peak {max(depths, default=0)}, "
        f"end of window {window['depth_end']:.0f} ({len(depths)} samples every 20 ms)"
    )
    print(f"load average (1 min):           {window['load0']:.2f} before, {window['load1']:.2f} after")
    ok = rate >= TARGET_RATE and p99 < TARGET_P99_MS
    print(f"targets (>= {TARGET_RATE:,.0f} msg/s, p99 < {TARGET_P99_MS:g} ms): {'met' if ok else 'NOT met'}")
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--pairs", type=int, default=50)
    p.add_argument("--seconds", type=float, default=15.0, help="measurement window (s)")
    p.add_argument("--settle", type=float, default=3.0, help="streaming before the window starts (s)")
    p.add_argument("--push-hz", type=float, default=50.0, help="forming-candle pushes per second per pair")
    p.add_argument("--closes-per-s", type=float, default=1.0, help="candle closes per second per pair")
    p.add_argument(
        "--decisions",
        choices=("session", "stream"),
        default="session",
        help="session: the session's own DecisionSource; stream: Confluence.streamer per pair in its place",
    )
    p.add_argument("--rate-limit-ms", type=int, default=10, help="exchange.rate_limit_ms (ccxt throttle)")
    p.add_argument(
        "--with-ticker-book",
        action="store_true",
        help="also stream each pair's ticker and order book, as a default session does",
    )
    p.add_argument("--serve", help=argparse.SUPPRESS)
    p.add_argument("--max-s", type=float, default=300.0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
        return
    if not 1 <= args.pairs <= len(BASES):
        p.error(f"--pairs must be 1..{len(BASES)}")
    logging.basicConfig(level=logging.WARNING)
    ok = asyncio.run(run(args))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
