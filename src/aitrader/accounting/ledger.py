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
from typing import Final

from aitrader.accounting.entries import EntryKind, LedgerEntry
from aitrader.accounting.positions import ZERO, Position
from aitrader.core.errors import DataError, OrderError
from aitrader.core.orders import BUY, Fill


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
        # bookings not yet turned into `LedgerEntry` objects: a fill is kept as (fill, base, quote) and
        # its movements (`_movements`, the same computation as the booking's) become entries only when
        # `entries` is read. Creating three frozen dataclasses per fill was a fifth of a backtest's
        # booking time, and a backtest never reads them (nor the four tuples per fill that held the
        # movements before: a third of all objects a full-stack run kept); entries, order and values
        # are the same.
        self._raw: list[LedgerEntry | tuple[Fill, str, str]] = []
        # open positions in the order their symbols were first booked (the order of `_positions`, so
        # sums over them add up in the same order as a scan would); rebuilt only when a position
        # opens or closes, because equity is asked for on every candle and positions change rarely
        self._open: list[Position] = []
        self._open_symbols: tuple[str, ...] = ()  # their symbols, asked for on every event too
        for ccy, amount in (balances or {}).items():
            self.deposit(ccy, amount, ts, note="starting balance")

    # ----- queries -------------------------------------------------------------------------
    @property
    def entries(self) -> Sequence[LedgerEntry]:
        """Every entry in the order it was booked (read-only view)."""
        if self._raw:
            self._materialize()
        return self._entries

    def _materialize(self) -> None:
        out = self._entries
        for item in self._raw:
            if isinstance(item, LedgerEntry):
                out.append(item)
                continue
            fill, base, quote = item
            for ccy, delta, kind in _movements(fill, base, quote):
                out.append(
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
        self._raw.clear()

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

    def open_symbols(self) -> list[str]:
        """Symbols of the open positions, in the order of `positions()` (without building the dict)."""
        return list(self._open_symbols)

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
        if not self.book_fill(fill, base, quote):
            return []
        entries = self.entries
        return list(entries[len(entries) - (3 if fill.fee else 2) :])

    def book_fill(self, fill: Fill, base: str, quote: str) -> bool:
        """`apply_fill` without building the returned entries (the engine's and venue's path): True when
        booked, False for a fill id seen before. Refused fills raise `OrderError` and change nothing."""
        fill_id = fill.fill_id
        if fill_id in self._fill_ids:
            return False
        amount, price, fee = fill.amount, fill.price, fill.fee
        if amount <= ZERO or price <= ZERO or fee < ZERO:  # Decimal zero: faster than comparing to int
            raise OrderError(
                f"fill {fill_id}: amount and price must be positive and fee not negative "
                f"(amount={amount}, price={price}, fee={fee})"
            )
        symbol = fill.symbol
        pos = self._positions.get(symbol)
        if pos is None:
            pos = Position(symbol, base, quote)
        elif pos.base != base or pos.quote != quote:
            raise OrderError(f"fill {fill_id}: {symbol} is {pos.base}/{pos.quote}, not {base}/{quote}")
        notional = amount * price
        fee_ccy = fill.fee_currency or quote
        buy = fill.side is BUY
        # the movements in booking order: quote and base of the trade, then the fee (`_movements`)
        q_delta, b_delta = (-notional, amount) if buy else (notional, -amount)
        f_delta = -fee

        # checks (nothing changed yet). Long-only: what leaves the position (sold amount, base fee)
        # must be held in it.
        leaving = -amount if buy else amount
        if fee_ccy == base:
            leaving += fee
        if leaving > pos.amount:
            raise OrderError(
                f"fill {fill_id}: selling {leaving} {base} of {symbol} but the position holds "
                f"{pos.amount} (spot long-only: no shorts)"
            )
        balances = self._balances
        # the usual case, the fee paid in the quote: the new balances are computed once, added up in
        # the order the general path books them (quote, base, fee), checked, then stored
        usual = bool(fee) and fee_ccy == quote != base
        new_q = new_b = ZERO
        if usual:
            have_q, have_b = balances.get(quote, ZERO), balances.get(base, ZERO)
            new_q, new_b = have_q + q_delta + f_delta, have_b + b_delta
            if new_q < ZERO:
                raise _short(fill, q_delta + f_delta, quote, have_q)
            if new_b < ZERO:
                raise _short(fill, b_delta, base, have_b)
        else:
            deltas = _movements(fill, base, quote)
            net: dict[str, Decimal] = {}
            for ccy, delta, _ in deltas:
                net[ccy] = net.get(ccy, ZERO) + delta
            for ccy, delta in net.items():
                have = balances.get(ccy, ZERO)
                if have + delta < ZERO:
                    raise _short(fill, delta, ccy, have)

        # all checks passed: mutate
        self._positions[symbol] = pos
        self._fill_ids.add(fill_id)
        was_open = pos.amount > ZERO
        if buy:
            pos.add(amount, notional, fill.ts)
        else:
            pos.realized_pnl += notional - pos.remove(amount)
        if fee:
            self._fees_by_ccy[fee_ccy] = self._fees_by_ccy.get(fee_ccy, ZERO) + fee
            if fee_ccy == quote:
                pos.fees += fee
            elif fee_ccy == base:
                pos.fees += pos.remove(fee)
        if (pos.amount > ZERO) != was_open:
            self._open = [p for p in self._positions.values() if p.amount > ZERO]  # `is_open`, inlined
            self._open_symbols = tuple(p.symbol for p in self._open)
        if usual:
            balances[quote], balances[base] = new_q, new_b
        else:
            for ccy, delta, _ in deltas:
                balances[ccy] = balances.get(ccy, ZERO) + delta
        self._raw.append((fill, base, quote))
        return True

    def _book(self, entry: LedgerEntry) -> LedgerEntry:
        self._raw.append(entry)  # after any fills still waiting, so `entries` keeps the booking order
        self._balances[entry.currency] = self.balance(entry.currency) + entry.delta
        return entry


def _movements(fill: Fill, base: str, quote: str) -> tuple[tuple[str, Decimal, EntryKind], ...]:
    """A fill's movements in booking order: quote and base of the trade, then the fee (if any)."""
    notional = fill.amount * fill.price
    trade = (
        ((quote, -notional, _TRADE), (base, fill.amount, _TRADE))
        if fill.side is BUY
        else ((quote, notional, _TRADE), (base, -fill.amount, _TRADE))
    )
    if not fill.fee:
        return trade
    return (*trade, (fill.fee_currency or quote, -fill.fee, _FEE))


def _short(fill: Fill, delta: Decimal, ccy: str, have: Decimal) -> OrderError:
    return OrderError(
        f"fill {fill.fill_id} ({fill.side} {fill.amount} {fill.symbol} @ {fill.price}) needs "
        f"{-delta} {ccy} but the balance is {have}"
    )


_TRADE: Final = EntryKind.TRADE
_FEE: Final = EntryKind.FEE


def _mark(marks: Mapping[str, Decimal], symbol: str) -> Decimal:
    try:
        return marks[symbol]
    except KeyError:
        raise DataError(f"no mark price for open position {symbol}") from None
