"""The matching engine: orders from many API keys filled against the replayed candles.

Rules (documented so a backtest can be compared with it):
- a market order fills at the open of the first candle that opens at or after the order;
- a limit order placed before a candle opened fills at that open if the open is already through
  its price (taker), else, once the candle has closed, at its own price if the candle traded
  *through* it (low < buy price, high > sell price; maker); merely touching it is not enough;
- a fill may be capped at `max_volume_share` of the candle volume, and the `partial` fault cuts a
  fill to 20-80 %; what is left waits for the next candle;
- fees come out of the quote currency (Kraken's default `fciq`), taker/maker as configured;
- an order with an expiry (Kraken's `expiretm`) that is still open (or partly filled) when the clock
  reaches it becomes `expired` at that time, before any candle event at or after it is matched; what
  it filled stays filled;
- balances are per API key; a buy reserves its worst-case cost, a sell its base amount.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from aitrader.venues.simulator.faults import FaultInjector
from aitrader.venues.simulator.kraken_pairs import KrakenPair, kraken_pair
from aitrader.venues.simulator.market_data import Series

ZERO = Decimal(0)


class VenueError(Exception):
    """A request the venue refuses; `code` is Kraken's error string (e.g. `EOrder:Insufficient funds`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(slots=True)
class SimTrade:
    trade_id: str
    order_id: str
    pos_id: str
    api_key: str
    pair: KrakenPair
    side: str
    ordertype: str
    price: Decimal
    vol: Decimal
    cost: Decimal
    fee: Decimal
    ts_ms: int
    maker: bool


@dataclass(slots=True)
class SimOrder:
    txid: str
    api_key: str
    pair: KrakenPair
    side: str  # buy | sell
    ordertype: str  # market | limit
    volume: Decimal
    price: Decimal | None
    ref_price: Decimal  # market price at placement (reservation of market buys)
    opened_ms: int
    userref: int = 0
    cl_ord_id: str | None = None
    oflags: str = "fciq"
    expire_ms: int | None = None  # Kraken `expiretm` (epoch ms); None: good till cancelled
    status: str = "open"  # pending | open | closed | canceled | expired
    vol_exec: Decimal = ZERO
    cost: Decimal = ZERO
    fee: Decimal = ZERO
    closed_ms: int | None = None
    reason: str | None = None
    trade_ids: list[str] = field(default_factory=list)
    last_candle: int = -1
    filled_in_candle: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        return self.volume - self.vol_exec

    @property
    def active(self) -> bool:
        return self.status in ("pending", "open")

    @property
    def avg_price(self) -> Decimal:
        return self.cost / self.vol_exec if self.vol_exec else ZERO


@dataclass(slots=True)
class Account:
    api_key: str
    secret: str
    balances: dict[str, Decimal] = field(default_factory=dict)


# listener(kind, order, trade): kind is "new", "trade", "filled", "canceled", "expired" or "rejected"
Listener = Callable[[str, SimOrder, SimTrade | None], None]


def _rand_id(rng: random.Random, prefix: str) -> str:
    alphabet = string.ascii_uppercase + string.digits
    a = prefix + "".join(rng.choices(alphabet, k=5))
    b = "".join(rng.choices(alphabet, k=5))
    c = "".join(rng.choices(alphabet, k=6))
    return f"{a}-{b}-{c}"


def _dec(text: str, what: str) -> Decimal:
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError):
        raise VenueError(f"EGeneral:Invalid arguments:{what}") from None
    if not d.is_finite() or d <= 0:
        raise VenueError(f"EGeneral:Invalid arguments:{what}")
    return d


class MatchingEngine:
    def __init__(
        self,
        series: dict[str, Series],
        faults: FaultInjector | None = None,
        taker_fee: Decimal = Decimal("0.0026"),
        maker_fee: Decimal = Decimal("0.0016"),
        max_volume_share: Decimal | None = None,
        id_seed: int = 0,
        pairs: dict[str, KrakenPair] | None = None,
    ) -> None:
        self.series = series
        # a venue other than Kraken passes its own listings (increments, minimums) per symbol
        if pairs is None:
            pairs = {sym: kraken_pair(sym, s.price_decimals) for sym, s in series.items()}
        self.pairs = pairs
        self.faults = faults or FaultInjector()
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.max_volume_share = max_volume_share
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, SimOrder] = {}
        self.trades: dict[str, SimTrade] = {}
        self.listeners: list[Listener] = []
        self.lock = threading.RLock()
        self._ids = random.Random(id_seed)
        self._by_client: dict[tuple[str, str], str] = {}
        self._done_open: dict[str, int] = dict.fromkeys(series, 0)
        self._done_close: dict[str, int] = dict.fromkeys(series, 0)
        self._now = 0

    # --- accounts -------------------------------------------------------------------------------
    def add_account(self, api_key: str, secret: str, balances: dict[str, Decimal]) -> Account:
        with self.lock:
            acc = Account(api_key, secret, dict(balances))
            self.accounts[api_key] = acc
            return acc

    def holds(self, api_key: str, exclude: str | None = None) -> dict[str, Decimal]:
        """Funds reserved by open orders of `api_key`, per currency code."""
        out: dict[str, Decimal] = {}
        for o in self.orders.values():
            if o.api_key != api_key or not o.active or o.txid == exclude:
                continue
            if o.side == "buy":
                px = o.price if o.price is not None else o.ref_price
                code, amt = o.pair.quote.code, o.remaining * px * (1 + self.taker_fee)
            else:
                code, amt = o.pair.base.code, o.remaining
            out[code] = out.get(code, ZERO) + amt
        return out

    def free(self, api_key: str, code: str, exclude: str | None = None) -> Decimal:
        acc = self.accounts[api_key]
        return acc.balances.get(code, ZERO) - self.holds(api_key, exclude).get(code, ZERO)

    # --- orders ---------------------------------------------------------------------------------
    def find_pair(self, name: str) -> KrakenPair:
        for p in self.pairs.values():
            if name in (p.id, p.altname, p.wsname, p.symbol):
                return p
        raise VenueError("EQuery:Unknown asset pair")

    def by_client_id(self, api_key: str, cl_ord_id: str | None, userref: int) -> SimOrder | None:
        for key in ((api_key, "cl:" + cl_ord_id) if cl_ord_id else None, (api_key, f"ur:{userref}")):
            if key is None or (key[1] == "ur:0"):
                continue
            txid = self._by_client.get(key)
            if txid is not None:
                return self.orders[txid]
        return None

    def add_order(
        self,
        api_key: str,
        pair_name: str,
        side: str,
        ordertype: str,
        volume: str,
        price: str | None = None,
        userref: int = 0,
        cl_ord_id: str | None = None,
        oflags: str = "",
        now_ms: int | None = None,
        expire_ms: int | None = None,
    ) -> tuple[SimOrder, bool]:
        """Place an order; returns (order, created). A repeated client id returns the first order.
        `expire_ms`: the order expires when the clock reaches it (must be later than now)."""
        with self.lock:
            now = self._now if now_ms is None else now_ms
            self.sync(now)
            existing = self.by_client_id(api_key, cl_ord_id, userref)
            if existing is not None:
                return existing, False
            pair = self.find_pair(pair_name)
            if side not in ("buy", "sell"):
                raise VenueError("EGeneral:Invalid arguments:type")
            if ordertype not in ("market", "limit"):
                raise VenueError("EGeneral:Invalid arguments:ordertype")
            flags = [f for f in oflags.split(",") if f]
            if "viqc" in flags:
                raise VenueError("EGeneral:Invalid arguments:viqc")
            vol = _dec(volume, "volume")
            if vol != vol.quantize(Decimal(1).scaleb(-pair.lot_decimals), rounding=ROUND_DOWN):
                raise VenueError("EGeneral:Invalid arguments:volume")
            if vol < Decimal(pair.ordermin):
                raise VenueError("EOrder:Order minimum not met")
            px: Decimal | None = None
            if ordertype == "limit":
                if price is None:
                    raise VenueError("EGeneral:Invalid arguments:price")
                px = _dec(price, "price")
                if px != px.quantize(Decimal(1).scaleb(-pair.pair_decimals), rounding=ROUND_DOWN):
                    raise VenueError("EGeneral:Invalid arguments:price")
            if expire_ms is not None and expire_ms <= now:
                raise VenueError("EGeneral:Invalid arguments:expiretm")
            ref = self.series[pair.symbol].price_at(now)
            if ref is None:
                raise VenueError("EService:Market in cancel_only mode")
            if self.faults.strike("reject"):
                raise VenueError("EOrder:Orders limit exceeded")
            if side == "buy":
                need = vol * (px if px is not None else ref) * (1 + self.taker_fee)
                if need > self.free(api_key, pair.quote.code):
                    raise VenueError("EOrder:Insufficient funds")
            elif vol > self.free(api_key, pair.base.code):
                raise VenueError("EOrder:Insufficient funds")
            fee_flag = "fcib" if "fcib" in flags else "fciq"
            kept = [f for f in flags if f not in ("fcib", "fciq")]
            order = SimOrder(
                txid=_rand_id(self._ids, "O"),
                api_key=api_key,
                pair=pair,
                side=side,
                ordertype=ordertype,
                volume=vol,
                price=px,
                ref_price=ref,
                opened_ms=now,
                userref=userref,
                cl_ord_id=cl_ord_id,
                oflags=",".join([*kept, fee_flag]),
                expire_ms=expire_ms,
            )
            self.orders[order.txid] = order
            if cl_ord_id:
                self._by_client[(api_key, "cl:" + cl_ord_id)] = order.txid
            if userref:
                self._by_client[(api_key, f"ur:{userref}")] = order.txid
            self._emit("new", order, None)
            marketable = px is not None and (px >= ref if side == "buy" else px <= ref)
            if "post" in flags and marketable:
                self._close(order, "canceled", now, "Post only order")
            return order, True

    def cancel(self, api_key: str, ident: str, now_ms: int | None = None) -> int:
        """Cancel by txid, cl_ord_id or userref; returns how many orders were cancelled."""
        with self.lock:
            now = self._now if now_ms is None else now_ms
            self.sync(now)
            hits = [
                o
                for o in self.orders.values()
                if o.api_key == api_key
                and o.active
                and (o.txid == ident or o.cl_ord_id == ident or (o.userref and str(o.userref) == ident))
            ]
            if not hits:
                raise VenueError("EOrder:Unknown order")
            for o in hits:
                self._close(o, "canceled", now, "User requested")
            return len(hits)

    def cancel_all(self, api_key: str, now_ms: int | None = None) -> int:
        with self.lock:
            now = self._now if now_ms is None else now_ms
            self.sync(now)
            hits = [o for o in self.orders.values() if o.api_key == api_key and o.active]
            for o in hits:
                self._close(o, "canceled", now, "User requested")
            return len(hits)

    def _close(self, order: SimOrder, status: str, ts: int, reason: str | None) -> None:
        order.status = status
        order.closed_ms = ts
        order.reason = reason
        self._emit("filled" if status == "closed" else status, order, None)

    def _emit(self, kind: str, order: SimOrder, trade: SimTrade | None) -> None:
        for listener in list(self.listeners):
            listener(kind, order, trade)

    # --- matching -------------------------------------------------------------------------------
    def sync(self, now_ms: int) -> None:
        """Run every candle open and close up to `now_ms` through the resting orders."""
        with self.lock:
            self._now = max(self._now, now_ms)
            now = self._now
            for sym, series in self.series.items():
                if not any(o.active and o.pair.symbol == sym for o in self.orders.values()):
                    self._done_open[sym] = series.started(now)
                    self._done_close[sym] = series.closed(now)
                    continue
                n = len(series)
                while True:
                    o_i, c_i = self._done_open[sym], self._done_close[sym]
                    t_open = series.ts[o_i] if o_i < n else None
                    t_close = series.ts[c_i] + series.tf_ms if c_i < o_i else None
                    if t_close is not None and t_close <= now and (t_open is None or t_close <= t_open):
                        self._expire(sym, t_close)
                        self._on_close(series, c_i)
                        self._done_close[sym] = c_i + 1
                    elif t_open is not None and t_open <= now:
                        self._expire(sym, t_open)
                        self._on_open(series, o_i)
                        self._done_open[sym] = o_i + 1
                    else:
                        break
                self._expire(sym, now)

    def next_expiry(self) -> int | None:
        """The earliest expiry among the active orders (epoch ms), or None."""
        with self.lock:
            due = [o.expire_ms for o in self.orders.values() if o.active and o.expire_ms is not None]
            return min(due, default=None)

    def _expire(self, symbol: str, ts: int) -> None:
        """Expire the active orders of `symbol` whose expiry is at or before `ts`, at their expiry."""
        due = [
            o
            for o in self.orders.values()
            if o.active and o.pair.symbol == symbol and o.expire_ms is not None and o.expire_ms <= ts
        ]
        for o in sorted(due, key=lambda o: (o.expire_ms or 0, o.opened_ms)):
            self._close(o, "expired", o.expire_ms or ts, "Order expired")

    def _eligible(self, series: Series, k: int) -> list[SimOrder]:
        ts = series.ts[k]
        return sorted(
            (
                o
                for o in self.orders.values()
                if o.active and o.pair.symbol == series.symbol and o.opened_ms <= ts
            ),
            key=lambda o: o.opened_ms,
        )

    def _on_open(self, series: Series, k: int) -> None:
        row = series.rows[k]
        px = row.dec("open")
        for o in self._eligible(series, k):
            through = o.price is None or (px <= o.price if o.side == "buy" else px >= o.price)
            if through:
                self._fill(o, series, k, px, row.ts, maker=False)

    def _on_close(self, series: Series, k: int) -> None:
        row = series.rows[k]
        low, high = row.dec("low"), row.dec("high")
        for o in self._eligible(series, k):
            if o.price is None:
                continue
            if (o.side == "buy" and low < o.price) or (o.side == "sell" and high > o.price):
                self._fill(o, series, k, o.price, row.ts + series.tf_ms, maker=True)

    def _fill(self, o: SimOrder, series: Series, k: int, px: Decimal, ts: int, maker: bool) -> None:
        pair = o.pair
        lot = Decimal(1).scaleb(-pair.lot_decimals)
        if o.last_candle != k:
            o.last_candle, o.filled_in_candle = k, ZERO
        qty = o.remaining
        if self.max_volume_share is not None:
            cap = self.max_volume_share * series.rows[k].dec("volume") - o.filled_in_candle
            qty = min(qty, cap)
        fee_rate = self.maker_fee if maker else self.taker_fee
        if o.side == "buy":
            affordable = self.free(o.api_key, pair.quote.code, exclude=o.txid) / (px * (1 + fee_rate))
            qty = min(qty, affordable)
        else:
            qty = min(qty, self.free(o.api_key, pair.base.code, exclude=o.txid))
        if qty > 0 and qty == o.remaining and self.faults.strike("partial"):
            qty = qty * Decimal(str(round(self.faults.uniform(0.2, 0.8), 4)))
        qty = qty.quantize(lot, rounding=ROUND_DOWN)
        if qty <= 0:
            return
        quant = Decimal(1).scaleb(-pair.quote.decimals)
        cost = (qty * px).quantize(quant)
        fee = (cost * fee_rate).quantize(quant)
        acc = self.accounts[o.api_key]
        b, q = pair.base.code, pair.quote.code
        sign = 1 if o.side == "buy" else -1
        acc.balances[b] = acc.balances.get(b, ZERO) + sign * qty
        acc.balances[q] = acc.balances.get(q, ZERO) - sign * cost - fee
        trade = SimTrade(
            trade_id=_rand_id(self._ids, "T"),
            order_id=o.txid,
            pos_id=_rand_id(self._ids, "T"),
            api_key=o.api_key,
            pair=pair,
            side=o.side,
            ordertype=o.ordertype,
            price=px,
            vol=qty,
            cost=cost,
            fee=fee,
            ts_ms=ts,
            maker=maker,
        )
        self.trades[trade.trade_id] = trade
        o.vol_exec += qty
        o.cost += cost
        o.fee += fee
        o.filled_in_candle += qty
        o.trade_ids.append(trade.trade_id)
        self._emit("trade", o, trade)
        if o.remaining <= 0:
            self._close(o, "closed", ts, None)
