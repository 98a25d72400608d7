"""The ledger: every cash and asset movement as a signed Decimal entry, plus spot positions and PnL.

One ledger serves backtest, paper and live: the venue's fills come in through `apply_fill`, and
balances, positions, realized/unrealized PnL and equity come out. Balances are *only* changed by
appending entries, so `sum(entries of ccy) == balance(ccy)` always.

Scope (v1): spot, long-only. A sell can only reduce a position opened by earlier buys of the same
symbol; selling more than held raises `OrderError` and changes nothing (no shorts, no margin).
Likewise a fill that would take any balance below zero is refused. Base currency deposited without
a buy (e.g. a starting BTC balance) sits in the balances but is not a position, so it is neither
sellable through `apply_fill` nor part of `equity`.

PnL identity, exact in Decimal for a single quote currency Q whose fees are paid in Q or in the
base: `equity(marks, Q) == contributed(Q) + funding(Q) + realized_pnl() - fees() + unrealized_pnl(marks)`.
Fees paid in a third currency (e.g. an exchange token) are debited from that currency and reported
by `fees_by_currency`, but are outside the identity because the ledger has no price for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from aitrader.accounting.entries import EntryKind, LedgerEntry
from aitrader.accounting.positions import ZERO, Position
from aitrader.core.errors import DataError, OrderError
from aitrader.core.orders import Fill, Side


class Ledger:
    """Decimal double-entry-style book of one account. Not thread-safe: one owner applies fills."""

    def __init__(self, balances: Mapping[str, Decimal] | None = None, ts: int = 0) -> None:
        self._balances: dict[str, Decimal] = {}
        self._entries: list[LedgerEntry] = []
        self._positions: dict[str, Position] = {}
        self._contributed: dict[str, Decimal] = {}
        self._funding: dict[str, Decimal] = {}
        self._fees_by_ccy: dict[str, Decimal] = {}
        self._fill_ids: set[str] = set()
        # open positions in the order their symbols were first booked (the order of `_positions`, so
        # sums over them add up in the same order as a scan would); rebuilt only when a position
        # opens or closes, because equity is asked for on every candle and positions change rarely
        self._open: list[Position] = []
        for ccy, amount in (balances or {}).items():
            self.deposit(ccy, amount, ts, note="starting balance")

    # ----- queries -------------------------------------------------------------------------
    @property
    def entries(self) -> Sequence[LedgerEntry]:
        """Every entry in the order it was booked (read-only view)."""
        return self._entries

    def balance(self, ccy: str) -> Decimal:
        return self._balances.get(ccy, ZERO)

    def balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    def contributed(self, ccy: str) -> Decimal:
        """Deposits minus withdrawals of `ccy` (the starting balance counts as a deposit)."""
        return self._contributed.get(ccy, ZERO)

    def funding(self, ccy: str) -> Decimal:
        return self._funding.get(ccy, ZERO)

    def fees_by_currency(self) -> dict[str, Decimal]:
        """Fees as paid, per currency they were paid in."""
        return dict(self._fees_by_ccy)

    def position(self, symbol: str) -> Position | None:
        return self._positions.get(symbol)

    def positions(self, open_only: bool = True) -> dict[str, Position]:
        if open_only:
            return {p.symbol: p for p in self._open}
        return dict(self._positions)

    def realized_pnl(self, symbol: str | None = None) -> Decimal:
        """Gross realized PnL in quote (proceeds minus cost of what was sold), before fees."""
        return sum((p.realized_pnl for p in self._select(symbol)), ZERO)

    def fees(self, symbol: str | None = None) -> Decimal:
        """Fees in quote value: quote fees as paid, base fees at the cost basis they consumed."""
        return sum((p.fees for p in self._select(symbol)), ZERO)

    def unrealized_pnl(self, marks: Mapping[str, Decimal], symbol: str | None = None) -> Decimal:
        """Open positions valued at `marks[symbol]` minus their cost, in each position's quote."""
        return sum(
            (p.unrealized_pnl(_mark(marks, p.symbol)) for p in self._select(symbol) if p.is_open), ZERO
        )

    def equity(self, marks: Mapping[str, Decimal], quote: str) -> Decimal:
        """Cash in `quote` plus every open position (all must be quoted in `quote`) at its mark."""
        total = self.balance(quote)
        for p in self._open:
            if p.quote != quote:
                raise DataError(f"cannot value {p.symbol} position in {quote}: it is quoted in {p.quote}")
            total += p.amount * _mark(marks, p.symbol)
        return total

    def _select(self, symbol: str | None) -> list[Position]:
        if symbol is None:
            return list(self._positions.values())
        p = self._positions.get(symbol)
        return [p] if p else []

    # ----- movements -----------------------------------------------------------------------
    def deposit(self, ccy: str, amount: Decimal, ts: int, note: str = "") -> LedgerEntry:
        if amount < 0:
            raise OrderError(f"deposit of {amount} {ccy}: amount must not be negative")
        self._contributed[ccy] = self.contributed(ccy) + amount
        return self._book(LedgerEntry(ts, ccy, amount, EntryKind.DEPOSIT, note=note))

    def withdraw(self, ccy: str, amount: Decimal, ts: int, note: str = "") -> LedgerEntry:
        if amount < 0:
            raise OrderError(f"withdrawal of {amount} {ccy}: amount must not be negative")
        if amount > self.balance(ccy):
            raise OrderError(f"cannot withdraw {amount} {ccy}: balance is {self.balance(ccy)}")
        self._contributed[ccy] = self.contributed(ccy) - amount
        return self._book(LedgerEntry(ts, ccy, -amount, EntryKind.WITHDRAWAL, note=note))

    def apply_funding(self, ccy: str, amount: Decimal, ts: int, symbol: str = "") -> LedgerEntry:
        """A signed funding payment (received > 0, paid < 0)."""
        if self.balance(ccy) + amount < 0:
            raise OrderError(f"funding of {amount} {ccy} exceeds the balance {self.balance(ccy)}")
        self._funding[ccy] = self.funding(ccy) + amount
        return self._book(LedgerEntry(ts, ccy, amount, EntryKind.FUNDING, symbol=symbol))

    def apply_fill(self, fill: Fill, base: str, quote: str) -> list[LedgerEntry]:
        """Book a spot fill; returns its entries. A fill id seen before is ignored (returns [])."""
        if fill.fill_id in self._fill_ids:
            return []
        if fill.amount <= 0 or fill.price <= 0 or fill.fee < 0:
            raise OrderError(
                f"fill {fill.fill_id}: amount and price must be positive and fee not negative "
                f"(amount={fill.amount}, price={fill.price}, fee={fill.fee})"
            )
        pos = self._positions.get(fill.symbol)
        if pos is None:
            pos = Position(fill.symbol, base, quote)
        elif (pos.base, pos.quote) != (base, quote):
            raise OrderError(
                f"fill {fill.fill_id}: {fill.symbol} is {pos.base}/{pos.quote}, not {base}/{quote}"
            )
        notional = fill.amount * fill.price
        fee_ccy = fill.fee_currency or quote
        deltas = self._fill_deltas(fill, base, quote, notional, fee_ccy)
        self._check_funds(fill, deltas, pos, base, fee_ccy)

        # all checks passed: mutate
        self._positions[fill.symbol] = pos
        self._fill_ids.add(fill.fill_id)
        was_open = pos.is_open
        if fill.side is Side.BUY:
            pos.add(fill.amount, notional, fill.ts)
        else:
            pos.realized_pnl += notional - pos.remove(fill.amount)
        if fill.fee:
            self._fees_by_ccy[fee_ccy] = self._fees_by_ccy.get(fee_ccy, ZERO) + fill.fee
            if fee_ccy == quote:
                pos.fees += fill.fee
            elif fee_ccy == base:
                pos.fees += pos.remove(fill.fee)
        if pos.is_open != was_open:
            self._open = [p for p in self._positions.values() if p.is_open]
        out = []
        for ccy, delta, kind in deltas:
            out.append(
                self._book(
                    LedgerEntry(
                        fill.ts,
                        ccy,
                        delta,
                        kind,
                        symbol=fill.symbol,
                        client_id=fill.client_id,
                        fill_id=fill.fill_id,
                    )
                )
            )
        return out

    def _fill_deltas(
        self, fill: Fill, base: str, quote: str, notional: Decimal, fee_ccy: str
    ) -> list[tuple[str, Decimal, EntryKind]]:
        sign = fill.side.sign
        deltas = [(quote, -sign * notional, EntryKind.TRADE), (base, sign * fill.amount, EntryKind.TRADE)]
        if fill.fee:
            deltas.append((fee_ccy, -fill.fee, EntryKind.FEE))
        return deltas

    def _check_funds(
        self, fill: Fill, deltas: list[tuple[str, Decimal, EntryKind]], pos: Position, base: str, fee_ccy: str
    ) -> None:
        # long-only: what leaves the position (sold amount, base fee) must be held in it
        leaving = fill.amount if fill.side is Side.SELL else -fill.amount
        if fee_ccy == base:
            leaving += fill.fee
        if leaving > pos.amount:
            raise OrderError(
                f"fill {fill.fill_id}: selling {leaving} {base} of {fill.symbol} but the position holds "
                f"{pos.amount} (spot long-only: no shorts)"
            )
        net: dict[str, Decimal] = {}
        for ccy, delta, _ in deltas:
            net[ccy] = net.get(ccy, ZERO) + delta
        for ccy, delta in net.items():
            if self.balance(ccy) + delta < 0:
                raise OrderError(
                    f"fill {fill.fill_id} ({fill.side} {fill.amount} {fill.symbol} @ {fill.price}) needs "
                    f"{-delta} {ccy} but the balance is {self.balance(ccy)}"
                )

    def _book(self, entry: LedgerEntry) -> LedgerEntry:
        self._entries.append(entry)
        self._balances[entry.currency] = self.balance(entry.currency) + entry.delta
        return entry


def _mark(marks: Mapping[str, Decimal], symbol: str) -> Decimal:
    try:
        return marks[symbol]
    except KeyError:
        raise DataError(f"no mark price for open position {symbol}") from None
