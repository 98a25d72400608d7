"""Simulated matching venue: fills our orders against candles, with fees, slippage and volume caps.

Backtest and paper trading plug this in as their `Venue` (core.ports); it keeps its own `Ledger`
as the account, like an exchange would. All money is Decimal; candle floats become Decimal through
`core.prices.dec` (the shortest text that round-trips the float, so 0.1 stays 0.1).

Matching rules for one candle of a symbol (orders submitted at or before the candle's open time
take part; later ones wait for the next candle, so nothing sees the future):

1. At the open, in submission order:
   - MARKET (and stops triggered on an earlier candle but not yet complete): fill at the open,
     slipped adversely, taker fee.
   - LIMIT on its first candle (it arrives at this open: submitted at the open time itself):
     marketable if the open is at or through its price (buy: open <= price) -> fills at the open as
     a taker, slippage capped at the limit.
   - LIMIT resting from before this open (submitted earlier) that the open gapped through (buy:
     open < price): it was in the book while the price moved through it, so it fills at its own
     price as a maker (the conservative choice: the better open price is not given). "Resting" is
     decided by time, not by the candles the venue was shown, so a historical feed that skips
     candles where nothing can happen gets the same fills as one showing every candle.
   - STOP_MARKET whose level the open already crossed (sell: open <= stop): fills at the open
     (the worse price), slipped, taker fee.
2. Intrabar stops (sell: low <= stop; touching triggers): fill at the stop level, slipped, taker.
3. Intrabar limits (buy: low < price, sell: high > price). Touching is not enough: at exactly the
   price the queue ahead of us may take all of it. Fill at the limit price, maker fee, no slippage.
4. Trailing stops ratchet to this candle's high (sell) / low (buy) only now, after the trigger was
   checked against the previous level: no intrabar lookahead.

Because stops go before limits, when a stop-loss and a take-profit of one position are both
touched inside one candle the stop is assumed first (worst case); the take-profit then finds no
position and is cancelled. When the open itself crosses one of them, phase 1 decides.

Volume: all fills of one symbol in one candle together take at most `max_volume_share` of the
candle's volume; the rest of an order stays open for the next candles (a triggered stop keeps
filling at the following opens). A zero-volume candle fills nothing; NaN volume (mark-price
candles) means no cap and no volume impact.

Balances: spot long-only (see accounting.ledger). Buys are rejected at submit when the quote
balance cannot pay them at the reference price; at fill time a buy is cut to what the balance
pays (fees included) and a sell to what the position holds, and the unfillable rest is cancelled
with the reason. Sells are not checked at submit, so protective orders may be placed before the
entry fills. Fills carry the candle's open time (the intrabar moment is unknown); fees are paid in
the quote currency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from aitrader.accounting.ledger import Ledger
from aitrader.core.candles import Candle
from aitrader.core.clock import Clock
from aitrader.core.errors import OrderError
from aitrader.core.orders import (
    ALLOWED_TRANSITIONS,
    BUY,
    CANCELLED,
    EXPIRED,
    FILLED,
    LIMIT,
    OPEN,
    PARTIALLY_FILLED,
    REJECTED,
    SELL,
    STOP_MARKET,
    TERMINAL,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
)
from aitrader.core.ports import OrderUpdate, VenueEvent
from aitrader.core.prices import dec, dec_once
from aitrader.venues.markets import MarketRegistry, MarketRules
from aitrader.venues.sim_models import FeeSchedule, SlippageModel

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)


class _Bar:
    """One candle's prices as Decimal, each converted on first use: most matches need only the open
    (market orders, stops triggered earlier), and converting all four took a tenth of a backtest."""

    __slots__ = ("_c", "_close", "_high", "_low", "_open", "ts", "volume")

    def __init__(self, c: Candle) -> None:
        self._c = c
        self.ts = c.ts
        self._open: Decimal | None = None
        self._high: Decimal | None = None
        self._low: Decimal | None = None
        self._close: Decimal | None = None
        self.volume: Decimal | None = None if math.isnan(c.volume) else dec_once(c.volume)

    @classmethod
    def of(cls, c: Candle) -> _Bar:
        return cls(c)

    @property
    def open(self) -> Decimal:
        v = self._open
        if v is None:
            v = self._open = dec(self._c.open)
        return v

    @property
    def high(self) -> Decimal:
        v = self._high
        if v is None:
            v = self._high = dec(self._c.high)
        return v

    @property
    def low(self) -> Decimal:
        v = self._low
        if v is None:
            v = self._low = dec(self._c.low)
        return v

    @property
    def close(self) -> Decimal:
        v = self._close
        if v is None:
            v = self._close = dec(self._c.close)
        return v


class _SimOrder:
    """An order as the venue holds it. A plain class with its own `__init__` (one per order; see
    core.orders for why)."""

    __slots__ = ("done", "is_limit", "is_stop", "level", "order", "req", "rules", "submitted_ms", "trails",
                 "triggered")

    def __init__(self, order: Order, rules: MarketRules, submitted_ms: int) -> None:
        self.order = order
        self.rules = rules
        self.submitted_ms = submitted_ms
        self.triggered = False  # stop triggered; the rest fills as market at the next opens
        self.level: Decimal | None = None  # current stop level (stops and trailing stops)
        # fixed by the request, looked up once instead of per candle
        req = self.req = order.request
        self.is_stop = req.type is STOP_MARKET
        self.is_limit = req.type is LIMIT
        self.trails = req.trail is not None
        self.done = order.status in TERMINAL  # the status is terminal (kept by `_transition`)

    @property
    def active(self) -> bool:
        return not self.done


class _Capacity:
    """What one candle still lets fill of its volume (None: no volume cap)."""

    __slots__ = ("left",)

    def __init__(self, left: Decimal | None) -> None:
        self.left = left


class SimulatedVenue:
    """A `core.ports.Venue` that matches against candles (see the module docstring for the rules)."""

    def __init__(
        self,
        clock: Clock,
        markets: MarketRegistry,
        balances: Mapping[str, Decimal],
        fees: FeeSchedule | None = None,
        slippage: SlippageModel | None = None,
        max_volume_share: Decimal = Decimal("0.25"),
    ) -> None:
        if not ZERO < max_volume_share <= ONE:
            raise ValueError(f"max_volume_share must be in (0, 1], got {max_volume_share}")
        self._clock = clock
        self._markets = markets
        self._fees = fees
        self._slippage = slippage or SlippageModel()
        self._max_share = max_volume_share
        self.ledger = Ledger(balances, ts=clock.now())
        self._orders: dict[str, _SimOrder] = {}
        self._active: dict[str, dict[str, _SimOrder]] = {}  # symbol -> client_id -> order
        self._last: dict[str, Candle] = {}
        self._events: list[VenueEvent] = []
        self._seq = 0
        self._rules: dict[str, MarketRules] = {}  # symbol -> rules, looked up once

    # ----- Venue protocol ---------------------------------------------------------------------
    def submit(self, request: OrderRequest) -> None:
        """Validate, acknowledge (OPEN) or reject (REJECTED + reason). Duplicate ids change nothing:
        the existing order's state is reported again."""
        now = self._clock.now()
        existing = self._orders.get(request.client_id)
        if existing is not None:
            self._emit_update(existing, now, "duplicate client_id: existing order unchanged")
            return
        rules = self._rules.get(request.symbol)
        if rules is None:
            rules = self._rules[request.symbol] = self._markets.rules_for(request.symbol)
        sim = _SimOrder(Order(request, updated_ms=now), rules, submitted_ms=now)
        self._orders[request.client_id] = sim
        self._seq += 1
        sim.order.venue_id = f"sim-{self._seq}"
        try:
            self._validate(sim)
        except OrderError as e:
            self._transition(sim, REJECTED, now, str(e))
            return
        self._active.setdefault(request.symbol, {})[request.client_id] = sim
        self._transition(sim, OPEN, now)

    def cancel(self, client_id: str) -> None:
        sim = self._orders.get(client_id)
        if sim is None:
            raise OrderError(f"cannot cancel {client_id!r}: no such order")
        now = self._clock.now()
        if sim.done:
            self._emit_update(sim, now, f"cannot cancel: order already {sim.order.status}")
            return
        self._close(sim, CANCELLED, now, "cancelled on request")

    def on_candle(self, symbol: str, candle: Candle) -> None:
        self._last[symbol] = candle
        book = self._active.get(symbol)
        if not book:
            return
        ts = candle.ts
        orders = [s for s in book.values() if s.submitted_ms <= ts]
        if not orders:
            return
        bar = _Bar(candle)
        cap = _Capacity(None if bar.volume is None else bar.volume * self._max_share)
        for sim in orders:  # 1. at the open (one that expired before this bar opened never trades in it)
            if sim.done:
                continue
            exp = sim.req.expire_ms
            if exp is not None and exp <= ts:
                self._close(sim, EXPIRED, exp, "expired (good till date)")
            else:
                self._at_open(sim, bar, cap)
        for sim in orders:  # 2. intrabar stops (before limits: worst case first)
            if sim.is_stop and not sim.done and not sim.triggered:
                self._intrabar_stop(sim, bar, cap)
        for sim in orders:  # 3. intrabar limits
            if sim.is_limit and not sim.done:
                self._intrabar_limit(sim, bar, cap)
        for sim in orders:  # 4. trailing ratchet, after the trigger check
            if sim.trails and not sim.done and not sim.triggered:
                self._ratchet(sim, bar)

    def drain_events(self) -> list[VenueEvent]:
        out, self._events = self._events, []
        return out

    def balances(self) -> dict[str, Decimal]:
        return self.ledger.balances()

    # ----- queries ----------------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        books = [self._active.get(symbol, {})] if symbol else list(self._active.values())
        return [s.order for b in books for s in b.values()]

    def order(self, client_id: str) -> Order | None:
        sim = self._orders.get(client_id)
        return sim.order if sim else None

    def stop_level(self, client_id: str) -> Decimal | None:
        """Current level of a stop / trailing stop (persist it; resubmit with stop_price to restore)."""
        sim = self._orders.get(client_id)
        return sim.level if sim else None

    def last_price(self, symbol: str) -> Decimal | None:
        c = self._last.get(symbol)
        return dec(c.close) if c else None

    # ----- submit validation ------------------------------------------------------------------
    def _validate(self, sim: _SimOrder) -> None:
        req, rules = sim.req, sim.rules
        # `ref`: the price a buy's cost is checked at. The last close is converted (a Decimal conversion)
        # only for the orders that use it: not for limit and stop orders, two of an entry's three
        ref: Decimal | None
        if req.trail is not None and req.type is not STOP_MARKET:
            raise OrderError(f"{req.symbol}: trail is only valid on stop_market orders")
        if req.expire_ms is not None and req.expire_ms <= self._clock.now():
            raise OrderError(f"{req.symbol}: expiry {req.expire_ms} is not in the future")
        if req.type is LIMIT:
            if req.price is None:
                raise OrderError(f"{req.symbol}: limit order needs a price")
            rules.check(req.amount, req.price)
            ref = req.price
        elif req.type is STOP_MARKET:
            sim.level = self._initial_stop(req, rules)
            rules.check(req.amount, sim.level)
            ref = sim.level
        else:
            ref = self.last_price(req.symbol)
            rules.check_amount(req.amount)
            if ref is not None:
                rules.check_cost(req.amount, ref)
        if req.side is BUY and ref is not None:
            need = req.amount * ref * (ONE + self._rate(rules, is_maker=False))
            have = self.ledger.balance(rules.quote)
            if need > have:
                raise OrderError(
                    f"{req.symbol}: insufficient {rules.quote}: buying {req.amount} needs about {need}, "
                    f"balance is {have}"
                )

    def _initial_stop(self, req: OrderRequest, rules: MarketRules) -> Decimal:
        if req.trail is not None and not ZERO < req.trail < ONE:
            raise OrderError(f"{req.symbol}: trail must be a fraction in (0, 1), got {req.trail}")
        if req.stop_price is not None:
            return req.stop_price
        if req.trail is None:
            raise OrderError(f"{req.symbol}: stop_market order needs a stop_price")
        ref = self.last_price(req.symbol)
        if ref is None:
            raise OrderError(f"{req.symbol}: trailing stop without stop_price needs a previous candle")
        if req.side is SELL:
            return rules.round_price(ref * (ONE - req.trail), "down")
        return rules.round_price(ref * (ONE + req.trail), "up")

    # ----- matching ---------------------------------------------------------------------------
    def _at_open(self, sim: _SimOrder, bar: _Bar, cap: _Capacity) -> None:
        req = sim.req
        buy = req.side is BUY
        if not (sim.is_stop or sim.is_limit) or sim.triggered:
            self._fill(sim, bar, bar.open, cap, is_maker=False, slip=True)
        elif sim.is_limit:
            assert req.price is not None
            resting = bar.ts > sim.submitted_ms  # in the book before this open
            if not resting and (bar.open <= req.price if buy else bar.open >= req.price):
                self._fill(sim, bar, bar.open, cap, is_maker=False, slip=True, cap_price=req.price)
            elif resting and (bar.open < req.price if buy else bar.open > req.price):
                self._fill(sim, bar, req.price, cap, is_maker=True, slip=False)
        else:
            assert sim.level is not None
            if bar.open >= sim.level if buy else bar.open <= sim.level:
                sim.triggered = True
                self._fill(sim, bar, bar.open, cap, is_maker=False, slip=True)

    def _intrabar_stop(self, sim: _SimOrder, bar: _Bar, cap: _Capacity) -> None:
        assert sim.level is not None
        if bar.high >= sim.level if sim.req.side is BUY else bar.low <= sim.level:
            sim.triggered = True
            self._fill(sim, bar, sim.level, cap, is_maker=False, slip=True)

    def _intrabar_limit(self, sim: _SimOrder, bar: _Bar, cap: _Capacity) -> None:
        price = sim.req.price
        assert price is not None
        if bar.low < price if sim.req.side is BUY else bar.high > price:
            self._fill(sim, bar, price, cap, is_maker=True, slip=False)

    def _ratchet(self, sim: _SimOrder, bar: _Bar) -> None:
        trail, level = sim.req.trail, sim.level
        assert trail is not None and level is not None
        if sim.req.side is SELL:
            sim.level = max(level, sim.rules.round_price(bar.high * (ONE - trail), "down"))
        else:
            sim.level = min(level, sim.rules.round_price(bar.low * (ONE + trail), "up"))

    def _fill(
        self,
        sim: _SimOrder,
        bar: _Bar,
        base_price: Decimal,
        cap: _Capacity,
        *,
        is_maker: bool,
        slip: bool,
        cap_price: Decimal | None = None,
    ) -> None:
        req, rules, order = sim.req, sim.rules, sim.order
        buy = req.side is BUY
        want = order.remaining
        qty = want if cap.left is None else min(want, cap.left)
        qty = rules.round_amount(qty)
        if qty <= ZERO:
            return  # no volume left in this candle; try again on the next
        price = base_price
        if slip:
            frac = self._slippage.fraction(qty, bar.volume)
            if buy:
                price = rules.round_price(base_price * (ONE + frac), "up")
                if cap_price is not None:
                    price = min(price, cap_price)
            else:
                price = max(rules.round_price(base_price * (ONE - frac), "down"), rules.price_tick)
                if cap_price is not None:
                    price = max(price, cap_price)
        rate = self._rate(rules, is_maker)
        afford = self._affordable(sim, price, rate)
        short_of_funds = afford < qty
        qty = min(qty, afford)
        now = bar.ts
        if qty > ZERO:
            fee = qty * price * rate
            # positional, in field order (fill_id, client_id, symbol, side, amount, price, fee,
            # fee_currency, ts, is_maker): keyword arguments cost ~40 ns each, per fill and per update
            fill = Fill(
                f"{order.venue_id}-{len(order.fills) + 1}",
                req.client_id,
                req.symbol,
                req.side,
                qty,
                price,
                fee,
                rules.quote,
                now,
                is_maker,
            )
            self.ledger.book_fill(fill, rules.base, rules.quote)
            if cap.left is not None:
                cap.left -= qty
            prev_value = (order.avg_price or ZERO) * order.filled
            order.filled += qty
            order.avg_price = (prev_value + qty * price) / order.filled
            order.fees += fee
            order.fills.append(fill)
            self._events.append(fill)
            if order.remaining <= ZERO:
                self._close(sim, FILLED, now)
            else:
                self._transition(sim, PARTIALLY_FILLED, now)
        if short_of_funds and not sim.done:
            ccy = rules.quote if buy else rules.base
            what = "balance" if buy else "position"
            self._close(
                sim,
                CANCELLED,
                now,
                f"insufficient {ccy} {what} for the remaining {order.remaining}"
                + (" (reduce-only: position closed)" if req.reduce_only and not buy else ""),
            )

    def _affordable(self, sim: _SimOrder, price: Decimal, rate: Decimal) -> Decimal:
        rules = sim.rules
        if sim.req.side is SELL:
            pos = self.ledger.position(sim.req.symbol)
            return rules.round_amount(pos.amount) if pos else ZERO
        cash = self.ledger.balance(rules.quote)
        unit = price * (ONE + rate)
        qty = rules.round_amount(cash / unit)
        while qty > ZERO and qty * price + qty * price * rate > cash:  # guard the division's rounding
            qty -= rules.amount_step
        return max(qty, ZERO)

    def _rate(self, rules: MarketRules, is_maker: bool) -> Decimal:
        if self._fees is not None:
            return self._fees.rate(is_maker)
        return rules.maker_fee if is_maker else rules.taker_fee

    # ----- state and events -------------------------------------------------------------------
    def _close(self, sim: _SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        self._transition(sim, status, ts, reason)
        book = self._active.get(sim.req.symbol)
        if book is not None:
            book.pop(sim.req.client_id, None)

    def _transition(self, sim: _SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        order = sim.order
        if status not in ALLOWED_TRANSITIONS[order.status]:
            raise OrderError(f"{order.request.client_id}: illegal transition {order.status} -> {status}")
        order.status = status
        sim.done = status in TERMINAL
        order.updated_ms = ts
        if reason:
            order.reason = reason
        self._emit_update(sim, ts, reason)

    def _emit_update(self, sim: _SimOrder, ts: int, reason: str = "") -> None:
        o = sim.order
        # positional (client_id, status, ts, venue_id, filled, avg_price, reason), like the fill's
        self._events.append(
            OrderUpdate(o.request.client_id, o.status, ts, o.venue_id, o.filled, o.avg_price, reason)
        )
