"""Persister: what changed in the engine after a step -> ONE write on the single StorageWriter.

Why one write per step: a step (a batch of closed candles, or one control command) changes orders,
fills, ledger entries, positions, equity and the session cursor together. Written as one item they
commit in one transaction, so storage never holds a fill without its order, its ledger entries or
its position, nor a cursor that says a candle was handled whose fills were not stored. A fill is
"acknowledged" when its step committed; restore rebuilds exactly the committed steps.

Ids make every write idempotent (orders by client id, fills by fill id, ledger entries by an id
derived from the fill and the entry kind, positions by (symbol, opened_ms)), so a step replayed after
a restart writes nothing twice. The engine is never blocked on the database: `flush_step` only
queues (`StorageWriter.put` waits only when its queue is full).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aitrader.accounting.entries import LedgerEntry as BookEntry
from aitrader.core.orders import Fill, Order, OrderPurpose
from aitrader.core.time import now_ms
from aitrader.engine.engine import Engine
from aitrader.storage.records import EquityPoint, LedgerEntry, PositionRecord
from aitrader.storage.repository import TenantSession
from aitrader.storage.writer import StorageWriter, WriteFn

RUNTIME_NS = "runtime"
CURSOR_KEY = "cursor"  # {symbol: open time of the last candle the engine handled}
IDS_KEY = "ids"  # {"seq": last client-id sequence number}
START_KEY = "start"  # {"ts": ms, "balances": {ccy: str}, "mode": str}
RESTORED_KEY = "restored"  # what the last start restored (for operators and the restart test)
PROTECTION_KEY = "protection"  # {entry client id: [stop, take]} of entries not yet filled
REPLACES_KEY = "replaces"  # {limit entry client id: replacements that led to it} of working entries
ACCOUNT = "trading"
_SCALE = Decimal(1).scaleb(-18)  # storage keeps 18 decimal places (storage.types.MONEY_SCALE)


def money(x: Decimal | None) -> Decimal | None:
    """`x` as storage can hold it: rounded half-even to 18 decimal places when it has more.

    Why here: simulated fees (amount x price x rate) and averages (cost / amount) carry 20+ decimals;
    storage holds 18, like NUMERIC(38, 18) on PostgreSQL. The rounding is below 1e-18 per value and
    restore rebuilds every ledger from the stored fills, so the books stay consistent with storage.
    """
    if x is None:
        return None
    exp = x.as_tuple().exponent
    return x.quantize(_SCALE) if isinstance(exp, int) and exp < -18 else x


def entry_id(e: BookEntry) -> str:
    """Stable id of a ledger entry: from its fill (one entry per fill, kind and currency) or its deposit."""
    if e.fill_id:
        return f"{e.fill_id}:{e.kind.value}:{e.currency}"[:128]
    return f"{e.kind.value}:{e.ts}:{e.currency}:{e.note}"[:128]


def to_record(e: BookEntry) -> LedgerEntry:
    return LedgerEntry(
        entry_id=entry_id(e),
        ts=e.ts,
        account=ACCOUNT,
        currency=e.currency,
        amount=_m(e.delta),
        kind=e.kind.value,
        ref=e.fill_id or e.client_id,
        note=(e.note or e.symbol)[:200],
    )


@dataclass(slots=True)
class StepWrite:
    """Everything one step writes (copies: the engine keeps mutating its own objects)."""

    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    positions: list[PositionRecord] = field(default_factory=list)
    equity: EquityPoint | None = None
    state: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, s: TenantSession) -> None:
        for o in self.orders:
            s.upsert_order(o)
        for f in self.fills:
            s.insert_fill(f)
        for e in self.entries:
            s.add_ledger_entry(e)
        for p in self.positions:
            s.upsert_position(p)
        if self.equity is not None:
            s.add_equity(self.equity)
        for key, value in self.state:
            s.save_state(RUNTIME_NS, key, value)

    @property
    def empty(self) -> bool:
        return not (self.orders or self.fills or self.entries or self.positions or self.equity or self.state)


class Persister:
    def __init__(
        self, tenant_id: str, engine: Engine, writer: StorageWriter | None, venue: Any, trail: Decimal | None
    ) -> None:
        self.tenant_id = tenant_id
        self.engine = engine
        self.writer = writer
        self.venue = venue  # the inner venue: asked for live trailing-stop levels when it can tell
        self.trail = trail
        # told about each step's new fills once they are queued for storage (Telegram notifications);
        # must not block or raise: it runs on the engine's path
        self.on_fills: Callable[[list[Fill]], None] | None = None
        self._sig: dict[str, tuple[Any, ...]] = {}
        self._fills: dict[str, int] = {}
        self._ledger_n = 0
        self._open: dict[str, PositionRecord] = {}
        self._realized_base: dict[str, Decimal] = {}
        self.steps = 0

    # ------------------------------------------------------------------ baselines
    def mark_written(
        self, open_positions: dict[str, PositionRecord] | None = None, *, ledger: bool = True
    ) -> None:
        """Everything the engine holds now is in storage already (after a restore); `ledger=False` on a
        first start, when the starting-balance deposits are still to be written."""
        for o in self.engine.om.orders():
            self._sig[o.request.client_id] = _sig(o)
            self._fills[o.request.client_id] = len(o.fills)
        self._ledger_n = len(self.engine.ledger.entries) if ledger else 0
        for sym, rec in (open_positions or {}).items():
            self._open[sym] = rec
            self._realized_base[sym] = self.engine.ledger.realized_pnl(sym) - rec.realized_pnl

    # ------------------------------------------------------------------ diff
    def collect(self, now: int, *, equity: bool = True, state: dict[str, Any] | None = None) -> StepWrite:
        w = StepWrite()
        for o in self.engine.om.orders():
            cid = o.request.client_id
            sig = _sig(o)
            if self._sig.get(cid) != sig:
                self._sig[cid] = sig
                c = copy.copy(o)
                c.request = r = copy.copy(o.request)
                r.amount, r.price, r.stop_price = _m(r.amount), money(r.price), money(r.stop_price)
                c.filled, c.avg_price, c.fees = _m(o.filled), money(o.avg_price), _m(o.fees)
                c.fills = []
                w.orders.append(c)
            n = self._fills.get(cid, 0)
            if len(o.fills) > n:
                for f in o.fills[n:]:
                    fc = copy.copy(f)
                    fc.amount, fc.price, fc.fee = _m(f.amount), _m(f.price), _m(f.fee)
                    w.fills.append(fc)
                self._fills[cid] = len(o.fills)
        entries = self.engine.ledger.entries
        w.entries = [to_record(e) for e in entries[self._ledger_n :]]
        self._ledger_n = len(entries)
        w.positions = self._positions(now)
        marks = self.engine.marks()
        if equity and all(sym in marks for sym in self.engine.ledger.positions()):  # else: not yet valued
            ledger = self.engine.ledger
            quote = self.engine.quote
            # stamped with the wall time it was taken: the dashboard's windows (today, 2 days) are wall
            # time, and in a replay the market time is years ago
            w.equity = EquityPoint(now_ms(), _m(self.engine.equity()), _m(ledger.balance(quote)), quote)
        for key, value in (state or {}).items():
            w.state.append((key, value))
        return w

    def _positions(self, now: int) -> list[PositionRecord]:
        out: list[PositionRecord] = []
        current = self.engine.om.positions()
        for sym, prev in list(self._open.items()):
            pos = current.get(sym)
            if pos is None or pos.opened_ms != prev.opened_ms:
                closed = copy.copy(prev)
                closed.status, closed.closed_ms, closed.updated_ms = "closed", now, now
                base = self._realized_base.pop(sym, Decimal(0))
                closed.realized_pnl = _m(self.engine.ledger.realized_pnl(sym) - base)
                closed.trailing_state = None
                out.append(closed)
                del self._open[sym]
        for sym, pos in current.items():
            if sym not in self._open:
                self._realized_base[sym] = self.engine.ledger.realized_pnl(sym)
            rec = self._record(pos, now)
            last = self._open.get(sym)
            if last is None or _pos_sig(last) != _pos_sig(rec):
                out.append(rec)
                self._open[sym] = rec
        return out

    def _record(self, pos: Any, now: int) -> PositionRecord:
        om = self.engine.om
        stop = take = level = None
        state: dict[str, Any] = {}
        if pos.stop_client_id is not None:
            o = om.order(pos.stop_client_id)
            stop = o.request.stop_price
            trail = o.request.trail
            if o.request.purpose is OrderPurpose.TRAILING_STOP or trail is not None:
                get = getattr(self.venue, "stop_level", None)
                level = get(pos.stop_client_id) if get is not None else None
                level = level or stop
                state = {
                    "client_id": pos.stop_client_id,
                    "trail": str(trail or self.trail or ""),
                    "level": None if level is None else str(level),
                }
        if pos.take_client_id is not None:
            take = om.order(pos.take_client_id).request.price
        return PositionRecord(
            symbol=pos.symbol,
            side="long" if pos.amount > 0 else "short",
            amount=_m(abs(pos.amount)),
            avg_entry=_m(pos.avg_price),
            opened_ms=pos.opened_ms,
            updated_ms=now,
            stop=money(stop),
            take=money(take),
            trailing_level=money(level),
            trailing_state=state or None,
            realized_pnl=_m(
                self.engine.ledger.realized_pnl(pos.symbol) - self._realized_base.get(pos.symbol, Decimal(0))
            ),
        )

    # ------------------------------------------------------------------ writing
    async def flush_step(
        self, now: int, *, equity: bool = True, state: dict[str, Any] | None = None
    ) -> StepWrite:
        w = self.collect(now, equity=equity, state=state)
        if not w.empty and self.writer is not None:
            self.steps += 1
            await self.writer.put(self.tenant_id, w, label=f"step:{now}")
        if w.fills and self.on_fills is not None:
            self.on_fills(w.fills)
        return w


def _m(x: Decimal) -> Decimal:
    got = money(x)
    assert got is not None
    return got


def _sig(o: Order) -> tuple[Any, ...]:
    return (o.status, o.filled, o.venue_id, o.updated_ms, o.reason)


def _pos_sig(p: PositionRecord) -> tuple[Any, ...]:
    return (p.amount, p.avg_entry, p.stop, p.take, p.trailing_level, p.realized_pnl, p.status)


__all__ = [
    "CURSOR_KEY",
    "IDS_KEY",
    "PROTECTION_KEY",
    "REPLACES_KEY",
    "RUNTIME_NS",
    "START_KEY",
    "Persister",
    "StepWrite",
    "WriteFn",
    "entry_id",
]
