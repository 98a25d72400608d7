"""The Engine: one event loop for backtest, paper and live.

It is built from plugs and never asks which mode it runs in:

    clock      SimulatedClock (advanced by the historical feed)  | WallClock
    feed       engine.feed.HistoricalFeed (Parquet store)         | live feed (closed WebSocket candles)
    decisions  PrecomputedDecisions (vectorised over history)     | streaming (Confluence.evaluate_last)
    venue      venues.simulated.SimulatedVenue                    | exchange venue (ccxt)
    risk       risk.manager.RiskManager (or a fixed-stake sizer for reference runs)

Per closed candle of a symbol (`on_candle`, the same code in every mode):
 1. the venue matches resting orders against the candle (market orders placed at the previous close
    fill at this candle's open; stops/takes on its high/low);
 2. venue events go through the OrderManager (state machine) into the ledger and the trade recorder;
    an entry that filled gets its protective stop/take orders;
 3. risk sees the equity; if its kill switch is on, positions are closed;
 4. the decision for this candle (known at its close) may open a position (sized by risk) or close
    one (market order, protective orders cancelled first, so an exit at the next open comes before a
    stop/take in the same candle);
 5. the engine tells the feed which coming candle of this symbol could matter (`engine.interest`):
    that is what lets a historical feed skip candles where nothing can happen.

Entries are market orders unless a `LimitEntryPolicy` is plugged in (`execution.entry_order: limit`):
then an entry rests as a limit buy below the decision's close, is cancelled when it times out and
re-priced (`execution.entry_timeout`), checked after step 2 for the candle's own symbol (whose candle
was just matched: the result cannot depend on which other symbols a feed delivers) and for all
symbols on every `poll()` between candles (live venues fill and confirm cancels at any time). Its
stop/take levels follow it to its replacement; a partly filled entry that times out keeps, and
protects, what it bought. An exit signal or the kill switch cancels a resting entry of a flat symbol
(the kill switch: any entry still open, market ones included, so nothing is bought after it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.trades import TradeTable
from aitrader.core.clock import Clock
from aitrader.core.decisions import Decision
from aitrader.core.orders import (
    ENTRY,
    EXIT,
    LIMIT,
    MARKET,
    REJECTED,
    SELL,
    STOP_MARKET,
    TERMINAL,
    Order,
    OrderRequest,
)
from aitrader.core.ports import CandleClosed, Venue
from aitrader.core.prices import dec
from aitrader.engine.decisions import DecisionSource
from aitrader.engine.interest import EVERY, interest_for
from aitrader.engine.ports import EngineFeed, EntryGate
from aitrader.engine.recorder import TradeRecorder
from aitrader.execution.entry_timeout import Expired, LimitEntryPolicy, LimitEntryReplacer
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.markets import MarketRegistry, MarketRules

ZERO: Final = Decimal(0)


@dataclass(slots=True)
class EngineStats:
    events: int = 0
    decisions: int = 0
    entries: int = 0
    exits: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    venue_rejections: int = 0


@dataclass(frozen=True, slots=True)
class EngineResult:
    trades: TradeTable
    stats: EngineStats
    orders: list[Order]
    final_equity: Decimal


class Engine:
    """See the module docstring. `protect=False` places no stop/take orders (reference runs);
    `end_fee_rate` is the fee an exit would pay, for valuing positions still open at the end."""

    def __init__(
        self,
        *,
        clock: Clock,
        feed: EngineFeed,
        venue: Venue,
        decisions: DecisionSource,
        risk: EntryGate,
        markets: MarketRegistry,
        ledger: Ledger,
        quote: str,
        protect: bool = True,
        trailing_stop: Decimal | None = None,
        order_manager: OrderManager | None = None,
        end_fee_rate: Decimal | None = None,
        limit_entries: LimitEntryPolicy | None = None,
    ) -> None:
        self.clock = clock
        self.feed = feed
        self.venue = venue
        self.decisions = decisions
        self.risk = risk
        self.markets = markets
        self.ledger = ledger
        self.quote = quote
        self.protect = protect
        self.trailing_stop = trailing_stop
        self.end_fee_rate = end_fee_rate  # fee rate for valuing open positions at the end (None: taker)
        self.om = order_manager or OrderManager(venue, clock, ids=risk.ids)
        self.recorder = TradeRecorder()
        self.stats = EngineStats()
        self._protection: dict[str, tuple[float | None, float | None]] = {}  # entry id -> stop, take
        self._last: dict[str, tuple[int, float]] = {}  # symbol -> (open ts, close) of the last candle seen
        self._touched: set[str] = set()
        self._rules: dict[str, MarketRules] = {}
        self._marks: dict[str, tuple[int, Decimal]] = {}  # symbol -> (candle open ts, its close as Decimal)
        self.limit_entries = limit_entries
        self.replacer: LimitEntryReplacer | None = None
        if limit_entries is not None:
            self.replacer = LimitEntryReplacer(
                self.om, clock, limit_entries.timeout_ms, self._reprice, limit_entries.max_replaces
            )

    # ---- the loop

    def run(self, on_progress: Callable[[int], None] | None = None, every: int = 512) -> EngineResult:
        """Consume the feed to its end; returns trades (open positions valued at their last close)."""
        for ev in self.feed.events():
            self.on_candle(ev)
            if on_progress is not None and self.stats.events % every == 0:
                on_progress(self.clock.now())
        if on_progress is not None:
            on_progress(self.clock.now())
        return self.result()

    def on_candle(self, ev: CandleClosed) -> None:
        symbol, candle = ev.symbol, ev.candle
        self.stats.events += 1
        self._last[symbol] = (candle.ts, candle.close)
        self._touched.add(symbol)
        self.venue.on_candle(symbol, candle)
        self._pump()
        self._expire_entries(symbol)  # only this symbol's: its candle was just matched, others' not yet
        marks = self.marks()  # equity and, on an entry, the exposures are valued at the same marks
        equity = self.ledger.equity(marks, self.quote)
        self.risk.on_equity(self.clock.now(), equity)
        if self.risk.killed:
            self._flatten_all()
        decision = self.decisions.decision(symbol, ev)
        if decision is not None:
            self.stats.decisions += 1
            self._act(decision, equity, marks)
        entries_possible = not self._dormant()
        for s in self._touched:
            orders = self.om.open_orders(s)
            interest = interest_for(orders, self.om.position(s) is not None, entries_possible)
            if orders and s == symbol and candle.volume == 0:
                interest = EVERY  # a zero-volume candle fills nothing: what it triggered fills later
            self.feed.set_interest(s, interest)
        self._touched.clear()

    def _dormant(self) -> bool:
        """Kill switch on, nothing held, nothing open: every coming decision is refused and no candle of
        any symbol can change anything, so no symbol needs its entry signals any more.

        Only then: while anything is held or open, the events of every symbol run the flattening, which
        touches (and so reschedules) the other symbols; skipping some of them would change the trades."""
        return self.risk.killed and not self.om.open_orders() and not self.om.positions()

    # ---- decisions -> orders

    def _act(self, d: Decision, equity: Decimal, marks: dict[str, Decimal]) -> None:
        s = d.symbol
        pos = self.om.position(s)
        if d.direction > 0 and pos is None and not self.om.has_open_orders(s):
            self._enter(d, equity, marks)
        elif d.direction < 0 and pos is not None:
            self._exit(s, "")
        elif d.direction < 0:
            self._cancel_entries(s)

    def poll(self) -> None:
        """Between candles: apply what the venue reported, resolve timed-out limit entries."""
        self._pump()
        self._expire_entries()

    def rules(self, symbol: str) -> MarketRules:
        got = self._rules.get(symbol)
        if got is None:
            got = self._rules[symbol] = self.markets.rules_for(symbol)
        return got

    def _enter(self, d: Decision, equity: Decimal, marks: dict[str, Decimal]) -> None:
        """`marks`: the open positions' marks `equity` was valued at, this event (valuing them again
        for the exposures took a tenth of an entry)."""
        rules = self.rules(d.symbol)
        now = self.clock.now()
        positions = self.ledger.positions()
        exposure = {s: p.amount * marks[s] for s, p in positions.items() if s in marks}
        out = self.risk.size_entry(d, equity, exposure, rules, now)
        if not isinstance(out, OrderRequest):
            key = str(getattr(out, "code", "") or getattr(out, "reason", out))
            self.stats.rejections[key] = self.stats.rejections.get(key, 0) + 1
            return
        out.strategy = _main_strategy(d)  # reports attribute the trade to its strongest voter
        if self.limit_entries is not None:
            mark = self._mark(d.symbol)
            if mark is not None:
                out.type, out.price = LIMIT, self.limit_entries.price(mark, rules)
                out.expire_ms = self.limit_entries.expire_ms(out.created_ms)
        self.stats.entries += 1
        if self.protect and (d.stop is not None or d.take is not None or self.trailing_stop is not None):
            self._protection[out.client_id] = (d.stop, d.take)
        self.om.submit(out)
        self._pump()

    def _exit(self, symbol: str, why: str) -> None:
        pos = self.om.position(symbol)
        if pos is None or self._exiting(symbol):
            return
        for o in self.om.open_orders(symbol):
            # protective orders go first: the exit comes before them. A partly filled entry is cancelled
            # too and must not get a stop/take when its cancel lands: the exit closes what it bought.
            self._protection.pop(o.request.client_id, None)
            self.om.cancel(o.request.client_id)
        self._pump()
        self.stats.exits += 1
        self.om.submit(
            OrderRequest(
                client_id=self.om.new_client_id(symbol),
                symbol=symbol,
                side=SELL,
                type=MARKET,
                amount=pos.amount,
                purpose=EXIT,
                created_ms=self.clock.now(),
                strategy=why,
                reduce_only=True,
            )
        )
        self._pump()

    def _exiting(self, symbol: str) -> bool:
        """An exit order of `symbol` is open: it closes the whole position, nothing may rest beside it."""
        return any(o.request.purpose is EXIT for o in self.om.open_orders(symbol))

    def _flatten_all(self) -> None:
        for s in list(self.om.positions()):
            self._touched.add(s)
            self._exit(s, "risk")
        flat_entries = {
            o.request.symbol
            for o in self.om.open_orders()
            if o.request.purpose is ENTRY and self.om.position(o.request.symbol) is None
        }
        for s in sorted(flat_entries):
            self._cancel_entries(s)

    def _cancel_entries(self, symbol: str) -> None:
        """Cancel the resting entries of a flat `symbol` (they get no protection when the cancel lands)."""
        for o in self.om.open_orders(symbol):
            cid = o.request.client_id
            if o.request.purpose is ENTRY:
                self._protection.pop(cid, None)
                self._touched.add(symbol)
                if self.replacer is not None and self.replacer.cancelling(cid):
                    self.replacer.abandon(cid)  # its cancel is already on the way
                else:
                    self.om.cancel(cid)
        self._pump()

    # ---- protection levels of entries not yet filled (persisted by sessions, restored after a restart)

    def pending_protection(self) -> dict[str, list[float | None]]:
        """Stop/take levels waiting for their entry to end, by entry client id (JSON-able)."""
        return {cid: [stop, take] for cid, (stop, take) in self._protection.items()}

    def restore_protection(self, levels: Mapping[str, Sequence[float | None]]) -> None:
        """Levels saved by `pending_protection` before a restart, for the entries still known."""
        known = {o.request.client_id for o in self.om.orders()}
        for cid, pair in levels.items():
            if cid in known and len(pair) == 2:
                stop, take = (None if v is None else float(v) for v in pair)
                self._protection[cid] = (stop, take)

    def entry_ended(self, entry: Order) -> None:
        """An entry ended outside the event path (cancelled while restoring): protect what it bought."""
        self._protect_filled(entry)

    # ---- limit entries: timeout and replace

    def _reprice(self, request: OrderRequest, remaining: Decimal) -> Decimal | None:
        """The replacement's price: the policy's limit off the latest close. None (let it go) when the
        entry partly filled (it keeps what it bought) or the kill switch is on."""
        policy = self.limit_entries
        s = request.symbol
        if policy is None or remaining != request.amount or self.risk.killed:
            return None
        mark = self._mark(s)
        return None if mark is None else policy.price(mark, self.rules(s))

    def _expire_entries(self, symbol: str | None = None) -> None:
        if self.replacer is None:
            return
        for _ in range(2):  # cancel what timed out; once confirmed (at once on a simulated venue), replace
            done = self.replacer.check(symbol)
            self._pump()
            for exp in done:
                self._resolved(exp)

    def _resolved(self, exp: Expired) -> None:
        old = exp.old.request.client_id
        self._touched.add(exp.old.request.symbol)
        if exp.new is not None:
            levels = self._protection.pop(old, None)
            if levels is not None:
                self._protection[exp.new.client_id] = levels
            self._pump()
        else:
            self._protect_filled(exp.old)  # what a partly filled entry bought; nothing when unfilled

    # ---- venue events -> order manager -> ledger, recorder, protection

    def _pump(self) -> None:
        while True:
            events = self.venue.drain_events()
            if not events:
                return
            for fill in self.om.on_events(events):
                order = self.om.order(fill.client_id)
                rules = self.rules(fill.symbol)
                self.ledger.book_fill(fill, rules.base, rules.quote)
                self._touched.add(fill.symbol)
                closed = self.recorder.on_fill(fill, order.request)
                if closed is not None:
                    self.risk.record_trade(closed)
            for ev in events:
                o = self.om.order(ev.client_id)
                if o.status is REJECTED:
                    self.stats.venue_rejections += 1
                if o.request.purpose is ENTRY and o.status in TERMINAL:
                    self._protect_filled(o)

    def _protect_filled(self, entry: Order) -> None:
        if self.replacer is not None and self.replacer.cancelling(entry.request.client_id):
            return  # timed out: the replacer decides (`_resolved`), its replacement inherits the levels
        levels = self._protection.pop(entry.request.client_id, None)
        if levels is None:
            return  # nothing to place, or placed already (an entry's fill and its status both end up here)
        s = entry.request.symbol
        pos = self.om.position(s)
        if pos is None or pos.protective_ids() or self._exiting(s):
            return
        rules = self.rules(s)
        amount = rules.round_amount(pos.amount)
        stop, take = levels
        if amount <= ZERO:
            return
        reqs = self.risk.protective_orders(
            s,
            amount,
            None if stop is None else dec(stop),
            None if take is None else dec(take),
            rules,
            self.clock.now(),
            trail=self.trailing_stop,
        )
        for r in reqs:
            r.strategy = entry.request.strategy
        stop_req = next((r for r in reqs if r.type is STOP_MARKET), None)
        take_req = next((r for r in reqs if r.type is LIMIT), None)
        if stop_req or take_req:
            self.om.protect(s, stop_req, take_req)

    # ---- valuation and results

    def _last_close(self, symbol: str) -> tuple[int, float] | None:
        got = self.feed.last_close(symbol)
        return got if got is not None else self._last.get(symbol)

    def marks(self) -> dict[str, Decimal]:
        """The open positions' marks (see `_mark`), by symbol."""
        out: dict[str, Decimal] = {}
        for s in self.ledger.open_symbols():
            m = self._mark(s)  # not through a bound method: compiled, this is a direct call
            if m is not None:
                out[s] = m
        return out

    def _mark(self, symbol: str) -> Decimal | None:
        """The last close of `symbol` as Decimal, converted once per candle (equity is valued on every
        event, mostly at marks that have not moved since the last one). `_last_close`, inlined: compiled,
        its narrowed tuple was boxed again on the way out (an allocation per open position per event)."""
        got = self.feed.last_close(symbol)
        if got is None:
            got = self._last.get(symbol)
            if got is None:
                return None
        ts = got[0]
        cached = self._marks.get(symbol)
        if cached is not None and cached[0] == ts:
            return cached[1]
        m = dec(got[1])
        self._marks[symbol] = (ts, m)
        return m

    def equity(self) -> Decimal:
        return self.ledger.equity(self.marks(), self.quote)

    def result(self) -> EngineResult:
        """Trades so far; positions still open are valued as closed at their last close with a taker fee
        (reported as `end_of_data`; no order is sent, so this is the same in every mode)."""
        marks: dict[str, tuple[int, Decimal]] = {}
        rates: dict[str, Decimal] = {}
        for s in self.recorder.open_symbols():
            got = self._last_close(s)
            if got is not None:
                marks[s] = (got[0], dec(got[1]))
                rate = self.end_fee_rate
                rates[s] = rate if rate is not None else self.rules(s).taker_fee
        exit_fees = self.recorder.close_open(marks, rates)
        final = self.equity() - exit_fees
        return EngineResult(self.recorder.table(), self.stats, self.om.orders(), final)


def _main_strategy(d: Decision) -> str:
    """The strategy that voted hardest in the decision's direction (names the trade in reports)."""
    votes = [v for v in d.strategy_votes if v[1] == d.direction]
    if not votes:
        return "confluence"
    return max(votes, key=lambda v: v[2])[0]
