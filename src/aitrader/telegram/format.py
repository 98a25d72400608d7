"""Plain-text renderings of engine state for Telegram (no markup: symbols and reasons are data)."""

from __future__ import annotations

from decimal import Decimal

from aitrader.api import views
from aitrader.core.orders import Fill
from aitrader.core.time import ms_to_iso


def _q(d: Decimal | None, places: int = 2) -> str:
    if d is None:
        return "–"
    return f"{d:.{places}f}"


def status_text(s: views.Status) -> str:
    state = "KILL SWITCH" if s.kill_switch else "entries paused" if s.entries_paused else "trading"
    return "\n".join(
        [
            f"aitrader [{s.tenant_id}] {s.mode}: {'running' if s.running else 'engine offline'}, {state}",
            f"equity {_q(s.equity)} {s.quote_currency}",
            f"open positions {s.open_positions}, open orders {s.open_orders}",
        ]
    )


def positions_text(positions: list[views.Position]) -> str:
    if not positions:
        return "no open positions"
    lines = []
    for p in positions:
        lines.append(
            f"{p.symbol} {p.side} {p.amount} @ {p.entry_price}"
            f" mark {p.mark_price if p.mark_price is not None else '–'} uPnL {_q(p.unrealized_pnl)}"
        )
    return "\n".join(lines)


def pnl_text(s: views.Status) -> str:
    return (
        f"PnL today {_q(s.pnl_today)} {s.quote_currency}\n"
        f"realized {_q(s.realized_pnl)}, unrealized {_q(s.unrealized_pnl)}"
    )


def fill_text(fill: Fill) -> str:
    return (
        f"fill: {fill.side.value} {fill.amount} {fill.symbol} @ {fill.price}"
        f" (fee {fill.fee} {fill.fee_currency}) at {ms_to_iso(fill.ts)}"
    )
