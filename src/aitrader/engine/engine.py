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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aitrader.accounting.ledger import Ledger
from aitrader.backtest.trades import TradeTable
from aitrader.core.clock import Clock
from aitrader.core.decisions import Decision
from aitrader.core.orders import Order, OrderPurpose, OrderRequest, OrderStatus, OrderType, Side
from aitrader.core.ports import CandleClosed, Venue
from aitrader.engine.decisions import DecisionSource
from aitrader.engine.interest import EVERY, interest_for
from aitrader.engine.ports import EngineFeed, EntryGate
from aitrader.engine.recorder import TradeRecorder
from aitrader.execution.order_manager import OrderManager
from aitrader.venues.markets import MarketRegistry, MarketRules
from aitrader.venues.simulated import dec

ZERO = Decimal(0)


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
        equity = self.equity()
        self.risk.on_equity(self.clock.now(), equity)
        if self.risk.killed:
            self._flatten_all()
        decision = self.decisions.decision(symbol, ev)
        if decision is not None:
            self.stats.decisions += 1
            self._act(decision, equity)
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

    def _act(self, d: Decision, equity: Decimal) -> None:
        s = d.symbol
        pos = self.om.position(s)
        if d.direction > 0 and pos is None and not self.om.has_open_orders(s):
            self._enter(d, equity)
        elif d.direction < 0 and pos is not None:
            self._exit(s, "")

    def rules(self, symbol: str) -> MarketRules:
        got = self._rules.get(symbol)
        if got is None:
            got = self._rules[symbol] = self.markets.rules_for(symbol)
        return got

    def _enter(self, d: Decision, equity: Decimal) -> None:
        rules = self.rules(d.symbol)
        now = self.clock.now()
        positions = self.ledger.positions()
        marks = self.marks(positions)
        exposure = {s: p.amount * marks[s] for s, p in positions.items() if s in marks}
        out = self.risk.size_entry(d, equity, exposure, rules, now)
        if not isinstance(out, OrderRequest):
            key = str(getattr(out, "code", "") or getattr(out, "reason", out))
            self.stats.rejections[key] = self.stats.rejections.get(key, 0) + 1
            return
        out.strategy = _main_strategy(d)  # reports attribute the trade to its strongest voter
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
                side=Side.SELL,
                type=OrderType.MARKET,
                amount=pos.amount,
                purpose=OrderPurpose.EXIT,
                created_ms=self.clock.now(),
                strategy=why,
                reduce_only=True,
            )
        )
        self._pump()

    def _exiting(self, symbol: str) -> bool:
        """An exit order of `symbol` is open: it closes the whole position, nothing may rest beside it."""
        return any(o.request.purpose is OrderPurpose.EXIT for o in self.om.open_orders(symbol))

    def _flatten_all(self) -> None:
        for s in list(self.om.positions()):
            self._touched.add(s)
            self._exit(s, "risk")

    # ---- venue events -> order manager -> ledger, recorder, protection

    def _pump(self) -> None:
        while True:
            events = self.venue.drain_events()
            if not events:
                return
            for fill in self.om.on_events(events):
                order = self.om.order(fill.client_id)
                rules = self.rules(fill.symbol)
                self.ledger.apply_fill(fill, rules.base, rules.quote)
                self._touched.add(fill.symbol)
                closed = self.recorder.on_fill(fill, order.request)
                if closed is not None:
                    self.risk.record_trade(closed)
            for ev in events:
                o = self.om.order(ev.client_id)
                if o.status is OrderStatus.REJECTED:
                    self.stats.venue_rejections += 1
                if o.request.purpose is OrderPurpose.ENTRY and o.status.is_terminal:
                    self._protect_filled(o)

    def _protect_filled(self, entry: Order) -> None:
        levels = self._protection.pop(entry.request.client_id, None)
        s = entry.request.symbol
        pos = self.om.position(s)
        if levels is None or pos is None or pos.protective_ids() or self._exiting(s):
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
        stop_req = next((r for r in reqs if r.type is OrderType.STOP_MARKET), None)
        take_req = next((r for r in reqs if r.type is OrderType.LIMIT), None)
        if stop_req or take_req:
            self.om.protect(s, stop_req, take_req)

    # ---- valuation and results

    def _last_close(self, symbol: str) -> tuple[int, float] | None:
        got = self.feed.last_close(symbol)
        return got if got is not None else self._last.get(symbol)

    def marks(self, positions: dict[str, Any] | None = None) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for s in positions if positions is not None else self.ledger.positions():
            m = self._mark(s)
            if m is not None:
                out[s] = m
        return out

    def _mark(self, symbol: str) -> Decimal | None:
        """The last close of `symbol` as Decimal, converted once per candle (equity is valued on every
        event, mostly at marks that have not moved since the last one)."""
        got = self._last_close(symbol)
        if got is None:
            return None
        cached = self._marks.get(symbol)
        if cached is not None and cached[0] == got[0]:
            return cached[1]
        m = dec(got[1])
        self._marks[symbol] = (got[0], m)
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
