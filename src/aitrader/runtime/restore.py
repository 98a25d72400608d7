"""Restore after a restart: orders, fills, ledgers, positions and trailing stops, from storage only.

What is trusted: committed steps (see `runtime.persist`). Orders come back with their fills
(`execution.journal.OrderJournal.load`) into `OrderManager.restore`, which replays the fills in time
order and re-links open protective orders to their positions; the same fills, in the same order, are
replayed into the engine's ledger, the trade recorder and - in paper mode - the simulated venue's own
book (the paper account). Client-id numbering continues after the highest stored one.

What was still working at the crash (paper: the simulated venue forgot it with the process):
- a protective stop/take of a position still open is re-placed; a trailing stop at its last stored
  level, with its trail, so the ratchet does not start again from the entry;
- an exit still open for a position still open is re-sent;
- anything else still open (an entry the crash interrupted) is cancelled locally, with the reason:
  re-sending an entry decided minutes ago on stale prices is not a decision anyone made. What a
  partly filled one bought gets the stop/take its decision planned (levels of entries not yet
  filled are persisted with every step, `PROTECTION_KEY`).
A live venue still holds its orders: `CcxtVenue.restore` takes them back and the reconciler adopts
what happened meanwhile (execution's job), so nothing is re-sent from here; an entry that fills
after the restart gets its persisted stop/take as if there had been no restart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine as DbEngine

from aitrader.accounting.ledger import Ledger
from aitrader.core.orders import Order, OrderPurpose, OrderStatus
from aitrader.core.ports import OrderUpdate, Venue
from aitrader.engine.engine import Engine
from aitrader.execution.journal import OrderJournal
from aitrader.runtime.persist import (
    CURSOR_KEY,
    IDS_KEY,
    PROTECTION_KEY,
    REPLACES_KEY,
    RUNTIME_NS,
    START_KEY,
)
from aitrader.storage.records import PositionRecord
from aitrader.storage.repository import MAX_PAGE, tenant_scope

_PROTECTIVE = (OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT, OrderPurpose.TRAILING_STOP)


@dataclass(slots=True)
class Snapshot:
    orders: list[Order] = field(default_factory=list)
    positions: dict[str, PositionRecord] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)

    @property
    def cursor(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.runtime.get(CURSOR_KEY) or {}).items()}

    @property
    def protection(self) -> dict[str, list[float | None]]:
        got = self.runtime.get(PROTECTION_KEY)
        return got if isinstance(got, dict) else {}

    @property
    def replaces(self) -> dict[str, int]:
        got = self.runtime.get(REPLACES_KEY)
        return {str(k): int(v) for k, v in got.items()} if isinstance(got, dict) else {}

    @property
    def start(self) -> dict[str, Any] | None:
        got = self.runtime.get(START_KEY)
        return got if isinstance(got, dict) else None

    def id_seq(self) -> int:
        """Highest client-id sequence handed out before (`<prefix>-<slug>-<ts>-<seq>`)."""
        best = int((self.runtime.get(IDS_KEY) or {}).get("seq", 0))
        for o in self.orders:
            tail = o.request.client_id.rsplit("-", 1)[-1]
            if tail.isdigit():
                best = max(best, int(tail))
        return best


@dataclass(slots=True)
class Restored:
    orders: int = 0
    fills: int = 0
    positions: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def load_snapshot(db: DbEngine, tenant_id: str) -> Snapshot:
    snap = Snapshot(orders=OrderJournal(db, tenant_id).load())
    with tenant_scope(db, tenant_id) as ts:
        snap.runtime = ts.load_namespace(RUNTIME_NS)
        for p in ts.list_positions(status="open", limit=MAX_PAGE):
            snap.positions[p.symbol] = PositionRecord(
                symbol=p.symbol,
                side=p.side,
                amount=p.amount,
                avg_entry=p.avg_entry,
                opened_ms=p.opened_ms,
                updated_ms=p.updated_ms,
                stop=p.stop,
                take=p.take,
                trailing_level=p.trailing_level,
                trailing_state=p.trailing_state,
                realized_pnl=p.realized_pnl,
            )
    return snap


def replay(snap: Snapshot, engine: Engine, venue_ledger: Ledger | None) -> Restored:
    """Rebuild the order book (OrderManager.restore), the ledger(s) and the trade recorder."""
    out = Restored(orders=len(snap.orders))
    engine.om.restore(snap.orders)
    fills = sorted((f for o in snap.orders for f in o.fills), key=lambda f: (f.ts, f.fill_id))
    for fill in fills:
        order = engine.om.order(fill.client_id)
        rules = engine.rules(fill.symbol)
        engine.ledger.apply_fill(fill, rules.base, rules.quote)
        if venue_ledger is not None:
            venue_ledger.apply_fill(fill, rules.base, rules.quote)
        closed = engine.recorder.on_fill(fill, order.request)
        if closed is not None:
            engine.risk.record_trade(closed)
        out.fills += 1
    out.positions = sorted(engine.om.positions())
    return out


def resume_paper(snap: Snapshot, engine: Engine, venue: Venue, now: int, out: Restored) -> None:
    """Put working orders back on a venue that forgot them (see the module docstring)."""
    om = engine.om
    positions = om.positions()
    for o in om.open_orders():
        req = o.request
        pos = positions.get(req.symbol)
        send = None
        if pos is not None and req.purpose in _PROTECTIVE:
            send = copy.copy(req)
            stored = snap.positions.get(req.symbol)
            state = (stored.trailing_state or {}) if stored is not None else {}
            if state.get("client_id") == req.client_id:
                if state.get("level"):
                    send.stop_price = Decimal(str(state["level"]))
                if state.get("trail"):
                    send.trail = req.trail = Decimal(str(state["trail"]))
        elif pos is not None and req.purpose is OrderPurpose.EXIT:
            send = copy.copy(req)
        if send is None:
            why = "not restored after restart"
            om.apply_update(OrderUpdate(req.client_id, OrderStatus.CANCELLED, now, reason=why))
            out.cancelled.append(req.client_id)
            if req.purpose is OrderPurpose.ENTRY and o.filled > 0:
                engine.entry_ended(o)  # what the interrupted entry bought gets its stop/take
            continue
        send.amount = o.remaining  # a partly filled order goes back for what is left
        venue.submit(send)
        out.replaced.append(req.client_id)
