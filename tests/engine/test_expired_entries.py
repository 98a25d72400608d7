"""An entry the venue reports EXPIRED (an exchange-side expiry) is handled as a cancelled one: the
unfilled remainder is released (or replaced by the limit-entry policy), the filled part is kept and
protected. Proven by running the same engine twice, once with the venue answering the timed-out
entries' cancels as EXPIRED: every order, fill and trade is the same, only the entries' final status
differs."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest
from engine_rig import make_engine, sample_candles

from aitrader.core.orders import OrderPurpose, OrderStatus
from aitrader.core.ports import OrderUpdate, VenueEvent
from aitrader.engine.engine import Engine, EngineResult
from aitrader.execution.entry_timeout import LimitEntryPolicy

FIVE_MIN = 300_000


def _engine() -> Engine:
    candles = sample_candles(("ETH/BTC",), start=0, length=1500)
    rng = np.random.default_rng(5)
    dirs = {
        s: rng.choice([-1, 0, 1], size=len(c), p=[0.03, 0.94, 0.03]).astype(np.int8)
        for s, c in candles.items()
    }
    policy = LimitEntryPolicy(timeout_ms=FIVE_MIN, offset_bps=Decimal(0), max_replaces=2)
    # a tiny volume share: entries fill partly at the candle that reaches them, then time out
    return make_engine(
        candles, dirs, dense=True, limit_entries=policy, max_volume_share=Decimal("0.002"), stake=Decimal("2")
    )


def _expiring(engine: Engine) -> None:
    """The venue says EXPIRED where it would say CANCELLED for an entry."""
    venue = engine.venue
    drain = venue.drain_events

    def drain_expired() -> list[VenueEvent]:
        out: list[VenueEvent] = []
        for ev in drain():
            if (
                isinstance(ev, OrderUpdate)
                and ev.status is OrderStatus.CANCELLED
                and engine.om.order(ev.client_id).request.purpose is OrderPurpose.ENTRY
            ):
                ev = replace(ev, status=OrderStatus.EXPIRED, reason="Order expired")
            out.append(ev)
        return out

    venue.drain_events = drain_expired  # type: ignore[method-assign]


def _rows(res: EngineResult) -> list[tuple[str, str, str, str, str]]:
    return [
        (o.request.client_id, o.request.purpose.value, str(o.request.amount), o.status.value, str(o.filled))
        for o in res.orders
    ]


@pytest.mark.interpreted
def test_expired_entries_are_released_replaced_and_protected_as_cancelled_ones() -> None:
    cancelled = _engine().run()
    engine = _engine()
    _expiring(engine)
    expired = engine.run()
    entries = [o for o in expired.orders if o.status is OrderStatus.EXPIRED]
    assert entries and all(o.request.purpose is OrderPurpose.ENTRY for o in entries)
    partly = [o for o in entries if 0 < o.filled < o.request.amount]
    assert partly, "no partly filled entry expired"
    assert len(expired.orders) > len(entries)  # replacements and protective orders followed
    same = [r if r[3] != "expired" else (*r[:3], "cancelled", r[4]) for r in _rows(expired)]
    assert same == _rows(cancelled)
    a, b = expired.trades, cancelled.trades
    assert len(a) == len(b) > 0 and list(a.pnl) == list(b.pnl) and list(a.exit_reason) == list(b.exit_reason)
    assert expired.final_equity == cancelled.final_equity
    by_created = sorted(expired.orders, key=lambda o: o.request.created_ms)
    for entry in partly:  # what it bought is protected (stop first), nothing re-enters
        later = [o for o in by_created if o.request.created_ms >= entry.updated_ms and o is not entry]
        nxt = next(o for o in later if o.request.symbol == entry.request.symbol)
        assert nxt.request.purpose is OrderPurpose.STOP_LOSS and nxt.request.amount == entry.filled
