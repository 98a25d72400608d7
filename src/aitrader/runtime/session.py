"""Session: one paper or live run - the backtest's Engine with live plugs, kept alive by a supervisor.

Assembly mirrors `backtest.runner._run_full`; only the plugs differ:

    clock      MarketClock (the venue's time, advanced by the feed: `runtime.clock`); live: LiveClock
    feed       LiveFeed (REST warm-up, then one supervised ccxt.pro connection: candles through the
               CandleCache, tickers and top-N books)
    decisions  StreamingDecisions (a Confluence.streamer per pair, primed with the warm-up history;
               computed as each pair's candle closes, handed out at the engine's ordered release);
               with `ml.enabled` wrapped by the ML entry gate (`ml.runtime.SessionGate`)
    venue      paper: SimulatedVenue on those live candles | live: venues.exchange.CcxtVenue
    risk       RiskManager, client ids continuing after the stored ones

Supervised tasks (each started once, restarted with backoff on a crash): the market data
connection (which reconnects and resubscribes by itself, `data.live.supervisor`), the engine
loop (candles -> Engine.on_candle -> one persisted step), the state publisher (heartbeat), the
chart's candles (at most once a second), the command handler, the thoughts forwarder, the health
monitor, storage retention, the API server, and with `ml.enabled` the scheduled ML retraining
(gated entries are logged as thoughts with the gate's verdict: ML_PASSED / ML_BLOCKED, P(win) and
model version, instead of the bare proposal). The storage writer is started first and closed
last, after a final step, so a clean stop loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as DbEngine

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.data import common_quote
from aitrader.config import Settings
from aitrader.confluence import Confluence
from aitrader.core.clock import WallClock
from aitrader.core.commands import AnyCommand, CommandQueue, CommandResult, UpdateRiskLimits
from aitrader.core.decisions import Decision
from aitrader.core.errors import ConfigError
from aitrader.core.ids import ClientIdGenerator
from aitrader.core.orders import Fill
from aitrader.core.ports import Venue
from aitrader.core.time import now_ms, timeframe_to_ms
from aitrader.data.cache import CandleCache
from aitrader.data.live.staleness import StalenessTracker
from aitrader.data.store import HistoryStore
from aitrader.engine.engine import Engine
from aitrader.execution.entry_timeout import limit_entry_policy
from aitrader.execution.nonce import PersistentNonce, install_nonce
from aitrader.execution.reconcile import Reconciler
from aitrader.execution.trailing import KvStateStore, TriggerBook
from aitrader.heap import freeze_long_lived
from aitrader.risk.manager import RiskManager
from aitrader.runtime.clock import LiveClock, MarketClock
from aitrader.runtime.commands import CommandHandler
from aitrader.runtime.decisions import StreamingDecisions
from aitrader.runtime.feed import LiveFeed
from aitrader.runtime.fresh import FreshEntries
from aitrader.runtime.history import HistoryRecorder
from aitrader.runtime.persist import (
    CURSOR_KEY,
    IDS_KEY,
    PROTECTION_KEY,
    REPLACES_KEY,
    RESTORED_KEY,
    RUNTIME_NS,
    START_KEY,
    Persister,
)
from aitrader.runtime.restore import Restored, Snapshot, load_snapshot, replay, resume_paper
from aitrader.runtime.state import StatePublisher
from aitrader.runtime.supervisor import Supervisor, TaskContext
from aitrader.runtime.venue import EventInbox
from aitrader.storage.migrate import upgrade
from aitrader.storage.repository import TenantSession
from aitrader.storage.thoughts import Thought, ThoughtsLimiter
from aitrader.storage.writer import StorageWriter
from aitrader.venues.ccxt_factory import make_exchange
from aitrader.venues.exchange import CcxtVenue
from aitrader.venues.markets import MarketRegistry
from aitrader.venues.sim_models import FeeSchedule, SlippageModel
from aitrader.venues.simulated import SimulatedVenue

if TYPE_CHECKING:  # the ML stack (scikit-learn, numba) is imported only when ml.enabled
    from aitrader.ml.gate import GatedDecision
    from aitrader.ml.runtime import SessionGate
    from aitrader.telegram.notify import Notifier

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SessionOptions:
    mode: str = "paper"  # paper | live
    duration_s: float | None = None
    markets: MarketRegistry | None = None  # default: the exchange's own (load_markets)
    keep_decisions: bool = False
    heartbeat_ms: int = 2000
    thoughts_per_second: float = 5.0
    api: bool = False
    api_port: int | None = None
    api_ready: Callable[[str], None] | None = None  # called with the dashboard URL once serving
    exchange_keys: tuple[str, str] | None = None  # live: (api key, secret); default: environment
    warmup: int = 720
    max_lag_s: float = 10.0


@dataclass(slots=True)
class SessionResult:
    candles: int
    restored: Restored
    stop_reason: str
    orders: int
    fills: int
    open_positions: list[str] = field(default_factory=list)


class Session:
    def __init__(self, settings: Settings, db: DbEngine, options: SessionOptions | None = None) -> None:
        self.settings = settings
        self.db = db
        self.opts = options or SessionOptions(mode=settings.mode)
        if self.opts.mode not in ("paper", "live"):
            raise ConfigError(f"a session runs in paper or live mode, not {self.opts.mode!r}")
        self.tenant = settings.tenant
        self.pairs = list(settings.exchange.pairs)
        self._saved_protection: dict[str, list[float | None]] = {}  # last written PROTECTION_KEY
        self._saved_replaces: dict[str, int] = {}  # last written REPLACES_KEY
        self.history: HistoryRecorder | None = None  # closed candles -> history store
        if not self.pairs:
            raise ConfigError("no pairs to trade (set exchange.pairs)")
        self.timeframe = settings.data.timeframe
        # a dropped stream reconnects fast at first (0.2 s, doubling to 10 s); 30 s of health resets it
        self.supervisor = Supervisor(backoff_base=0.2, backoff_max=10.0, reset_after_s=30.0)
        self.commands: CommandQueue = asyncio.Queue()
        self.lock = asyncio.Lock()  # one step at a time: candles, venue pump/reconcile, commands
        self.candles = 0
        self.progress = asyncio.Event()
        self.cursor: dict[str, int] = {}
        self.restored = Restored()
        self.stop_reason = ""
        self.notifier: Notifier | None = None  # the served API's Telegram bot, when enabled
        self._sends: set[asyncio.Task[int]] = set()  # notifications in flight (kept from the GC)
        self.retained: dict[str, int] = {}  # rows deleted by retention, per table
        self._private_status: Callable[[], dict[str, Any] | None] | None = None  # live: own-orders stream
        # built by `assemble`
        self.engine: Engine
        self.risk: RiskManager
        self.feed: LiveFeed
        self.venue: Venue
        self.decisions: StreamingDecisions
        self.persister: Persister
        self.publisher: StatePublisher
        self.writer: StorageWriter
        self.exchange: Any = None
        self.snapshot: Snapshot
        self.inbox: EventInbox | None = None
        self.reconciler: Reconciler | None = None
        self.ml: SessionGate | None = None  # the ML entry gate, when ml.enabled

    # ------------------------------------------------------------------ assembly
    async def assemble(self) -> None:
        s, bt = self.settings, self.settings.backtest
        await asyncio.to_thread(upgrade, self.db)
        self.snapshot = snap = await asyncio.to_thread(load_snapshot, self.db, self.tenant)
        ex = s.exchange
        self.exchange = make_exchange(
            ex.name,
            ex.api_url,
            ex.ws_url,
            pro=True,
            options={"rateLimit": ex.rate_limit_ms} if ex.rate_limit_ms is not None else None,
        )
        markets = self.opts.markets
        if markets is None:
            raw = await _retry(self.exchange.load_markets)
            markets = MarketRegistry.from_ccxt_markets(ex.name, raw)
        quote = bt.quote_currency or common_quote(self.pairs)
        self.cursor = snap.cursor
        tf_ms = _tf_ms(self.timeframe)
        start_ms = max((t + tf_ms for t in self.cursor.values()), default=0)
        # live: the market's time runs on between closes (limit-entry timeouts shorter than a candle);
        # paper: exactly the closes, as in a backtest (`runtime.clock`)
        clock = LiveClock(start_ms, tf_ms) if self.opts.mode == "live" else MarketClock(start_ms)
        live = None
        if self.opts.mode == "live":  # the account holds what it holds: that is the starting balance
            live = await asyncio.to_thread(self._live_venue, clock)
            opening = {k: str(v) for k, v in live.balances().items() if v}
        else:
            opening = {quote: str(bt.starting_balance)}
        start = snap.start or {"ts": now_ms(), "balances": opening, "mode": self.opts.mode}
        balances = {k: Decimal(str(v)) for k, v in start["balances"].items()}
        htf = s.confluence.higher_timeframe
        confluence = Confluence.from_settings(s)
        cache = CandleCache(
            self.timeframe,
            (htf,) if htf and htf != self.timeframe else (),
            capacity=max(2000, 2 * confluence.history),
            config=s.data,
        )
        self.feed = LiveFeed(
            self.exchange,
            self.pairs,
            self.timeframe,
            cache,
            clock,
            max_lag_s=self.opts.max_lag_s,
            warmup=self.opts.warmup,
        )
        self.limiter = ThoughtsLimiter(self.opts.thoughts_per_second)
        self.decisions = StreamingDecisions(
            confluence,
            self.feed,
            htf,
            on_thought=self._thought,
            keep=self.opts.keep_decisions,
            # the streamed order book adjusts confidence (confluence microstructure factor)
            micro=self.feed.book_micro if s.confluence.use_orderbook and s.data.stream_book else None,
        )
        self.feed.subscribe(
            ticker=s.data.stream_ticker, book=s.data.stream_book, book_limit=s.data.book_depth
        )
        self.feed.on_closed = self.decisions.precompute  # each pair's decision as its candle closes
        if s.data.record_history_ms:
            store = HistoryStore(s.data.datadir)
            self.history = HistoryRecorder(store, ex.name, self.timeframe, cache, self.pairs)
        if live is not None:  # live stops fire on the streamed last price, not only at candle closes
            self.feed.on_tick = live.on_tick
            self._private_status = live.stream_status
        if s.ml.enabled:  # the engine asks the gate, the gate asks the (still eagerly computed) stream
            from aitrader.ml.runtime import SessionGate

            self.ml = SessionGate(s, self.decisions, on_gated=self._gated_thought, db=self.db)
            await self.ml.load()  # no usable model: the gate acts as ml.on_failure says
        venue_ledger: Ledger | None = None
        inbox = None
        if self.opts.mode == "paper":
            sim = SimulatedVenue(
                clock,
                markets,
                balances,
                fees=FeeSchedule(bt.maker_fee, bt.taker_fee),
                slippage=SlippageModel(bt.slippage_bps, bt.slippage_volume_impact),
                max_volume_share=bt.max_volume_share,
            )
            venue_ledger = sim.ledger
            self.venue = sim
        else:
            assert live is not None
            self.inbox = inbox = EventInbox(live)
            self.venue = inbox
        self.risk = risk = RiskManager(s.risk, ids=ClientIdGenerator("at", start=snap.id_seq()))
        self.engine = Engine(
            clock=clock,
            feed=self.feed,
            venue=self.venue,
            decisions=FreshEntries(
                self.decisions if self.ml is None else self.ml.gated,
                self._staleness(),
                on_blocked=lambda d: log.info("%s: entry withheld, market data is stale", d.symbol),
            ),
            risk=risk,
            markets=markets,
            ledger=Ledger(balances, ts=int(start["ts"])),
            quote=quote,
            protect=True,
            trailing_stop=bt.trailing_stop,
            end_fee_rate=bt.taker_fee,
            limit_entries=limit_entry_policy(s.execution),
        )
        self._restore_limits(risk)
        self.restored = replay(snap, self.engine, venue_ledger)
        self.engine.restore_protection(snap.protection)  # stop/take of entries not yet filled
        self._saved_protection = self.engine.pending_protection()
        if self.engine.replacer is not None:  # a restart does not grant fresh replacements
            self.engine.replacer.restore_replacements(snap.replaces)
            self._saved_replaces = self.engine.replacer.replacements()
        self.persister = Persister(self.tenant, self.engine, None, self.venue, bt.trailing_stop)
        self.persister.on_fills = self._on_fills
        self.persister.mark_written(snap.positions, ledger=snap.start is not None)
        if self.opts.mode == "paper":
            resume_paper(snap, self.engine, self.venue, clock.now(), self.restored)
        else:
            assert live is not None and inbox is not None
            live.restore(self.engine.om.open_orders())
            self.reconciler = Reconciler(  # its schedule is wall time: it is about the connection
                self.engine.om,
                live,
                WallClock(),
                sink=inbox.inject,
                interval_ms=s.execution.reconcile_interval_ms,
                on_alert=lambda d: self._on_alert(f"reconcile {d.kind} {d.symbol}: {d.detail}"),
                quote=quote,
                ledger_balance=self.engine.ledger.balance,  # cash moved outside our orders is alerted
            )
            await asyncio.to_thread(self.reconciler.run)  # before anything trades
        self._start = start

    def _thought(self, d: Decision) -> None:
        if self.ml is not None and d.direction > 0:
            return  # an entry is logged by _gated_thought, with the gate's verdict
        self.limiter.offer(Thought(self.tenant, d))

    def _gated_thought(self, g: GatedDecision) -> None:
        self.limiter.offer(
            Thought(
                self.tenant,
                g.logged(),
                model_version=g.model_version,
                model_probability=g.probability,
                outcome=g.outcome,
            )
        )

    def _restore_limits(self, risk: RiskManager) -> None:
        from aitrader.core import engine_state as es
        from aitrader.storage.repository import tenant_scope

        with tenant_scope(self.db, self.tenant) as ts:
            limits = ts.load_state(es.ENGINE_NS, es.RISK_LIMITS_KEY, {}) or {}
            status = ts.load_state(es.ENGINE_NS, es.STATUS_KEY, {}) or {}
        if isinstance(limits, dict) and limits:
            with contextlib.suppress(Exception):
                risk.update_limits(**limits)
        if isinstance(status, dict) and status.get("entries_paused"):
            risk.pause("paused before the restart")

    def _live_venue(self, clock: MarketClock) -> CcxtVenue:

        ex = self.settings.exchange
        key, secret = self.opts.exchange_keys or (
            os.environ.get("AITRADER_SECRET_EXCHANGE_KEY", ""),
            os.environ.get("AITRADER_SECRET_EXCHANGE_SECRET", ""),
        )
        if not key or not secret:
            raise ConfigError(
                "live mode needs exchange credentials: set AITRADER_SECRET_EXCHANGE_KEY and "
                "AITRADER_SECRET_EXCHANGE_SECRET"
            )

        # Kraken refuses a nonce not above the last it saw for the key: ccxt's in-memory one is lost
        # on restart, so nonces come from storage (execution.nonce); the account is a digest of the key
        nonce = (
            PersistentNonce(self.db, self.tenant, ex.name, hashlib.sha256(key.encode()).hexdigest()[:16])
            if ex.name == "kraken"
            else None
        )

        def client() -> Any:
            opts = {"rateLimit": ex.rate_limit_ms} if ex.rate_limit_ms is not None else None
            c = make_exchange(ex.name, ex.api_url, ex.ws_url, key, secret, pro=True, options=opts)
            if nonce is not None:
                install_nonce(c, nonce)
            return c

        venue = CcxtVenue(
            client,
            clock=clock,
            take_profit_with_limit=self.settings.execution.take_profit_with_limit,
            triggers=TriggerBook(KvStateStore(self.db, self.tenant)),  # stops saved before they act
        )
        return venue.start()

    # ------------------------------------------------------------------ tasks
    def _restored_note(self) -> Callable[[TenantSession], None]:
        r = self.restored
        levels = {}
        for cid in r.replaced:
            get = getattr(self.venue, "stop_level", None)
            level = get(cid) if get is not None else None
            if level is not None:
                levels[cid] = str(level)
        note = {
            "ts": now_ms(),
            "orders": r.orders,
            "fills": r.fills,
            "positions": r.positions,
            "replaced": r.replaced,
            "cancelled": r.cancelled,
            "stop_levels": levels,
        }
        return lambda t: t.save_state(RUNTIME_NS, RESTORED_KEY, note)

    async def _engine_loop(self, ctx: TaskContext) -> None:
        while True:
            batch = await self.feed.next_batch()
            async with self.lock:
                for ev in batch:
                    self.engine.on_candle(ev)
                    self.cursor[ev.symbol] = ev.candle.ts
                ctx.beat()
                self.candles += len(batch)
                await self._persist_step()
            self.progress.set()

    async def _pump(self, ctx: TaskContext, interval_s: float = 0.25) -> None:
        """Venue events between candles (a live venue reports fills whenever they happen), and the
        live reconciler on its schedule; persisted when anything changed."""
        while True:
            await asyncio.sleep(interval_s)
            async with self.lock:
                if self.reconciler is not None:  # network calls: off the loop, the engine held still
                    await asyncio.to_thread(self.reconciler.maybe_run)
                self.engine.poll()  # fills, and limit entries that timed out between candles
                state = self._protection_state() or None  # a replaced entry carries its levels
                await self.persister.flush_step(self.engine.clock.now(), equity=False, state=state)
            if self.feed.staleness is not None:
                self.feed.staleness.check(now_ms(), self.pairs)  # alerts once per stale episode
            ctx.beat()

    async def _persist_step(self) -> None:
        state = {CURSOR_KEY: dict(self.cursor), IDS_KEY: {"seq": self.engine.risk.ids.seq}}
        state.update(self._protection_state())
        await self.persister.flush_step(self.engine.clock.now(), state=state)

    def _protection_state(self) -> dict[str, Any]:
        """The stop/take levels of entries not yet filled and the replace counts of limit entries, when
        they changed since the last write: committed with the entry orders themselves, so a restart
        never finds one without the other."""
        state: dict[str, Any] = {}
        levels = self.engine.pending_protection()
        if levels != self._saved_protection:
            self._saved_protection = levels
            state[PROTECTION_KEY] = levels
        replacer = self.engine.replacer
        replaces = {} if replacer is None else replacer.replacements()
        if replaces != self._saved_replaces:
            self._saved_replaces = replaces
            state[REPLACES_KEY] = replaces
        return state

    async def _after_command(self, cmd: AnyCommand, result: CommandResult) -> None:
        await self._persist_step()
        if isinstance(cmd, UpdateRiskLimits) and result.ok:
            await self.publisher.save_risk_limits({k: getattr(self.risk.cfg, k) for k, _ in cmd.limits})
        await self.publisher.publish()
        await self.writer.flush()  # the answer goes out once its effect is readable by the API

    async def _thoughts(self, ctx: TaskContext) -> None:
        await self.limiter.forward(self.writer)

    def _stream_status(self) -> dict[str, Any]:
        """The market-data connection's status; in live mode with the private (own orders) one."""
        status = self.feed.stream_status()
        private = self._private_status() if self._private_status is not None else None
        if private is not None:
            status["private"] = private
        return status

    async def _market_data(self, ctx: TaskContext) -> None:
        await self.feed.stream(ctx.beat)  # reconnects by itself; never ends until cancelled

    async def _retention(self, ctx: TaskContext, idle_s: float = 1.0) -> None:
        """storage.retention_days, applied every storage.retention_interval_ms through the single
        writer. Age is measured on the market clock (the replay's time in a demo, wall time live),
        so a replay of old candles keeps what it just wrote; nothing runs before the first candle."""
        st = self.settings.storage
        days, every_s = st.retention_days, st.retention_interval_ms / 1000.0
        while True:
            now = self.engine.clock.now()
            if now <= 0:  # no candle yet: the market clock has no time to measure age against
                ctx.beat()
                await asyncio.sleep(idle_s)
                continue
            deleted: dict[str, int] = {}
            await self.writer.write(
                self.tenant, functools.partial(_cleanup, deleted, days, now), label="retention"
            )
            for table, n in deleted.items():
                self.retained[table] = self.retained.get(table, 0) + n
            if any(deleted.values()):
                log.info("retention (%d days): deleted %s", days, deleted)
            ctx.beat()
            await asyncio.sleep(every_s)

    async def _record_history(self, ctx: TaskContext) -> None:
        """data.record_history_ms: closed candles into the history store (`runtime.history`)."""
        every_s = self.settings.data.record_history_ms / 1000.0
        while True:
            await asyncio.sleep(every_s)
            await self._flush_history()
            ctx.beat()

    async def _flush_history(self) -> None:
        if self.history is None:
            return
        batch = self.history.pending()  # copied on the loop; written off it
        if batch:
            added = await asyncio.to_thread(self.history.write, batch)
            log.debug("history: %d new candles written", added)

    async def _api(self, ctx: TaskContext) -> None:
        from aitrader.runtime.api_server import serve_api

        await serve_api(
            self.settings, self.db, self.commands, self.opts.api_port, self.opts.api_ready, self._attach_api
        )

    def _staleness(self) -> StalenessTracker:
        """Wall-time freshness of each pair's streams - candles, and ticker and book when streamed
        (data.stale_after_ms, default three candle intervals; per stream overrides in
        data.stale_after_ms_per_stream); the feed touches it, entries and the alert read it."""
        d = self.settings.data
        limit = d.stale_after_ms or 3 * timeframe_to_ms(self.timeframe)
        tracker = StalenessTracker(limit, d.stale_after_ms_per_stream, on_alert=self._on_stale)
        self.feed.staleness = tracker
        return tracker

    def _on_stale(self, symbol: str, streams: tuple[str, ...], now: int) -> None:
        last = [self.feed.staleness.last_update(symbol, s) if self.feed.staleness else None for s in streams]
        ages = ", ".join(
            f"{s} silent {(now - t) / 1000:.0f} s" if t is not None else f"{s} never updated"
            for s, t in zip(streams, last, strict=True)
        )
        self._on_alert(f"{symbol}: market data is stale ({ages}); new entries are blocked until it resumes")

    # ------------------------------------------------------------------ notifications
    def _attach_api(self, app: Any) -> None:
        """The served app's Telegram bot (when enabled) gets this session's fills and alerts."""
        handle = getattr(app.state, "telegram", None)
        self.notifier = handle.notifier if handle is not None else None

    def _notify(self, send: Callable[[], Coroutine[Any, Any, int]]) -> None:
        """Fire and forget: a slow or unreachable Bot API never holds the engine (Notifier never raises)."""
        task = asyncio.get_running_loop().create_task(send())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def _on_fills(self, fills: list[Fill]) -> None:
        notifier = self.notifier
        if notifier is not None:
            for f in fills:
                self._notify(functools.partial(notifier.fill, f))

    def _on_alert(self, text: str) -> None:
        log.warning("%s", text)
        notifier = self.notifier
        if notifier is not None:
            self._notify(functools.partial(notifier.alert, text))

    # ------------------------------------------------------------------ run
    async def run(self, *, install_signals: bool = True) -> SessionResult:
        await self.assemble()
        self.writer = StorageWriter(self.db)
        self.writer.start()
        self.persister.writer = self.writer
        sup = self.supervisor
        try:
            if self.snapshot.start is None:
                start = self._start
                await self.writer.write(
                    self.tenant, lambda t: t.save_state(RUNTIME_NS, START_KEY, start), label="start"
                )
            await self._persist_step()  # what restore changed (cancelled entries) is written at once
            queued = await _retry(lambda: self.feed.warm_up(self.cursor or None))
            log.info("warm-up done: %d candles to catch up", queued)
            self.decisions.prime()  # before any live candle: the streams start warm
            if self.ml is not None:
                self.ml.seed(self.feed)  # the gate's candle windows: the same warm-up history
            frozen = freeze_long_lived()  # full GC passes would stall the stream (aitrader.heap)
            log.debug("gc: %d long-lived objects frozen after warm-up", frozen)
            await self.writer.put(
                self.tenant, self._restored_note(), label="restored"
            )  # after warm-up: ready
            self.publisher = StatePublisher(
                self.tenant,
                self.opts.mode,
                self.engine,
                self.venue,
                self.decisions,
                self.writer,
                self.pairs,
                interval_ms=self.opts.heartbeat_ms,
                health=sup.health,
                market_data=self._stream_status,
            )
            handler = CommandHandler(self.tenant, self.engine, self._after_command, lock=self.lock)
            if install_signals:
                sup.install_signals()
            sup.start("market-data", self._market_data, stall_after_s=60)
            sup.start("engine", self._engine_loop)
            sup.start("venue", self._pump, stall_after_s=30)
            sup.start("state", self.publisher.run, stall_after_s=30)
            sup.start("candles", self.publisher.run_candles, stall_after_s=30)
            sup.start("commands", lambda ctx: handler.run(self.commands, ctx))
            sup.start("thoughts", self._thoughts)
            sup.start("monitor", sup.monitor)
            sup.start("retention", self._retention)
            if self.history is not None:
                sup.start("history", self._record_history)
            if self.ml is not None:
                sup.start("ml-retrain", self.ml.run_retraining, stall_after_s=60)
            if self.opts.api:
                sup.start("api", self._api)
            await sup.wait_stopped(self.opts.duration_s)
            self.stop_reason = sup.stop_reason or "duration"
        finally:
            await sup.shutdown()
            await self._close()
        return SessionResult(
            self.candles,
            self.restored,
            self.stop_reason,
            len(self.engine.om.orders()),
            sum(len(o.fills) for o in self.engine.om.orders()),
            sorted(self.engine.om.positions()),
        )

    async def _close(self) -> None:
        try:
            try:
                await self._flush_history()  # what the session saw last is kept too
            except Exception:
                log.exception("history: the last closed candles could not be written")
            if self.writer.running:
                await self._persist_step()
                if hasattr(self, "publisher"):
                    await self.publisher.publish()
                    await self.publisher.publish_candles()
                await self.writer.close()
        finally:
            if self.ml is not None:
                self.ml.close()  # a training run still in flight
            close = getattr(self.venue, "close", None)
            if close is not None:
                await asyncio.to_thread(close)
            if self.exchange is not None:
                with contextlib.suppress(Exception):
                    await self.exchange.close()


def _cleanup(out: dict[str, int], days: int, now: int, t: TenantSession) -> None:
    out.update(t.cleanup(days, now=now))


async def _retry(fn: Callable[[], Any], attempts: int = 8, base_s: float = 0.2) -> Any:
    """Warm-up against a flaky exchange: retry network errors with exponential backoff."""
    import ccxt

    for k in range(attempts):
        try:
            return await fn()
        except ccxt.NetworkError as e:
            if k == attempts - 1:
                raise
            log.warning("warm-up failed (%s); retrying", e)
            await asyncio.sleep(base_s * 2**k)
    return None


def _tf_ms(tf: str) -> int:
    from aitrader.core.time import timeframe_to_ms

    return timeframe_to_ms(tf)
