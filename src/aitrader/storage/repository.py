"""Tenant-scoped reads and writes: the only door to the tables.

`TenantSession(session, tenant_id)` wraps a SQLAlchemy Session. Every public method builds its
statement through `_select` / `_update` / `_delete` (which add `tenant_id = :tenant`) or `_insert`
(which stamps `tenant_id` into the values), so a query without the tenant filter cannot be written
without reaching past those helpers. The raw session is private. Tests check that tenant B reading
tenant A's order, position or decision by its id gets nothing.

Writes are idempotent where the domain has a natural key (order client id, fill id, ledger entry id,
equity ts, state key): replaying an event after a crash never duplicates a row. Lists are newest first
and paged (`limit` capped at `MAX_PAGE`, `offset`).

Open one with `tenant_scope(engine, tenant_id, write=True)`; it commits on exit (or rolls back on
an exception). `allocate_nonce` runs in its own transaction and returns only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Delete, Engine, Result, Select, Update, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from aitrader.core.decisions import Decision
from aitrader.core.errors import AitraderError
from aitrader.core.orders import (
    Fill,
    Order,
    OrderPurpose,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from aitrader.core.time import DAY_MS, now_ms
from aitrader.storage.db import WRITE_OPTIONS
from aitrader.storage.records import EquityPoint, LedgerEntry, MetricSample, PositionRecord
from aitrader.storage.schema import (
    TENANT_ID_LENGTH,
    AuditRow,
    Base,
    DecisionRow,
    EquitySnapshotRow,
    FillRow,
    KvStateRow,
    LedgerEntryRow,
    MetricRow,
    NonceRow,
    OrderRow,
    PositionRow,
    Tenant,
)

MAX_PAGE = 1000
_STATEMENTS: dict[tuple[str, str], Any] = {}
M = TypeVar("M", bound=Base)
T = TypeVar("T")

_ORDER_MUTABLE = (
    "venue_id",
    "symbol",
    "side",
    "type",
    "purpose",
    "amount",
    "price",
    "stop_price",
    "reduce_only",
    "expire_ms",
    "status",
    "filled",
    "avg_price",
    "fees",
    "strategy",
    "updated_ms",
    "reason",
)


class TenantError(AitraderError):
    """A tenant id that is empty, too long or unknown."""


def check_tenant_id(tenant_id: str) -> str:
    if not tenant_id or len(tenant_id) > TENANT_ID_LENGTH or not tenant_id.isprintable():
        raise TenantError(f"invalid tenant id {tenant_id!r}: 1-{TENANT_ID_LENGTH} printable characters")
    return tenant_id


def _page(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or offset < 0:
        raise AitraderError(f"invalid page: limit {limit} must be >= 1 and offset {offset} >= 0")
    return min(limit, MAX_PAGE), offset


class TenantSession:
    """Reads and writes of one tenant inside the wrapped session's transaction.

    "Was it new?" answers come from RETURNING, not rowcount: psycopg reports -1 for INSERT .. ON
    CONFLICT DO NOTHING through SQLAlchemy, so rowcount cannot tell a skipped duplicate apart.

    `defer_writes=True` (the batching writer) lets writes that return nothing (orders, equity,
    metrics, state, audit) queue up in the session and go out as one executemany per run of the same
    statement - in order, flushed before any read, any other statement and `flush_writes()`, which
    the owner must call before commit. Two upserts of the same key never share one executemany:
    drivers that fold an executemany into one multi-row INSERT (psycopg2 does; psycopg 3 pipelines
    single-row statements) would make PostgreSQL refuse to touch a row twice in one ON CONFLICT.
    """

    def __init__(self, session: Session, tenant_id: str, *, defer_writes: bool = False) -> None:
        self._session = session
        self._tenant = check_tenant_id(tenant_id)
        self._defer = defer_writes

    @property
    def tenant_id(self) -> str:
        return self._tenant

    # ------------------------------------------------------------------ scoping helpers (the only ones)
    def _select(self, model: type[M]) -> Select[M]:
        return select(model).where(model.tenant_id == self._tenant)  # type: ignore[attr-defined]

    def _update(self, model: type[Base]) -> Update:
        table = model.__table__
        return update(table).where(table.c.tenant_id == self._tenant)  # type: ignore[arg-type]

    def _delete(self, model: type[Base]) -> Delete:
        table = model.__table__
        return delete(table).where(table.c.tenant_id == self._tenant)  # type: ignore[arg-type]

    def _insert(
        self,
        model: type[Base],
        values: Mapping[str, Any],
        *,
        key: str,
        build: Callable[[Any], Any] = lambda stmt: stmt,
        conflict: tuple[str, ...] = (),
        deferrable: bool = False,
    ) -> Any:
        """Execute a dialect INSERT into `model` with tenant_id stamped into the values.

        The statement (`build` adds ON CONFLICT / RETURNING) is built once per dialect and `key` and
        executed with parameters; building SQLAlchemy constructs per row cost ~1 ms, more than the write.
        """
        dialect = self._session.get_bind().dialect.name
        stmt = _STATEMENTS.get((dialect, key))
        if stmt is None:
            ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = _STATEMENTS[(dialect, key)] = build(ins(model.__table__))  # type: ignore[arg-type]
        params = dict(values)
        params["tenant_id"] = self._tenant
        if self._defer and deferrable:
            _defer(self._session, stmt, params, tuple(params[c] for c in conflict) if conflict else None)
            return None
        flush_writes(self._session)
        return self._session.connection().execute(stmt, params)

    def _execute(self, stmt: Any) -> Any:
        """DML goes to the session's connection as plain Core (no ORM bulk semantics)."""
        flush_writes(self._session)
        return self._session.connection().execute(stmt)

    def _read(self, stmt: Select[T]) -> Result[T]:
        flush_writes(self._session)
        return self._session.execute(stmt)

    # ------------------------------------------------------------------ tenant
    def ensure_tenant(self, name: str = "", *, ts_ms: int | None = None) -> bool:
        """Create this tenant's record if missing; True when it was created."""
        res = self._insert(
            Tenant,
            {"name": name, "created_ms": ts_ms if ts_ms is not None else now_ms()},
            key="tenant",
            build=lambda s: s.on_conflict_do_nothing(index_elements=["tenant_id"]).returning(
                Tenant.tenant_id
            ),
        )
        return res.first() is not None

    def tenant(self) -> Tenant | None:
        return self._read(self._select(Tenant)).scalar_one_or_none()

    # ------------------------------------------------------------------ orders
    def upsert_order(self, order: Order) -> None:
        """Insert or update the order with this client id (created_ms is kept from the first write)."""
        r = order.request
        values = {
            "client_id": r.client_id,
            "venue_id": order.venue_id,
            "symbol": r.symbol,
            "side": r.side.value,
            "type": r.type.value,
            "purpose": r.purpose.value,
            "amount": r.amount,
            "price": r.price,
            "stop_price": r.stop_price,
            "reduce_only": r.reduce_only,
            "expire_ms": r.expire_ms,
            "status": order.status.value,
            "filled": order.filled,
            "avg_price": order.avg_price,
            "fees": order.fees,
            "strategy": r.strategy,
            "created_ms": r.created_ms,
            "updated_ms": order.updated_ms or r.created_ms,
            "reason": order.reason,
        }
        self._insert(
            OrderRow,
            values,
            key="order",
            conflict=("tenant_id", "client_id"),
            deferrable=True,
            build=lambda s: s.on_conflict_do_update(
                index_elements=["tenant_id", "client_id"], set_={k: s.excluded[k] for k in _ORDER_MUTABLE}
            ),
        )

    def get_order(self, client_id: str) -> OrderRow | None:
        return self._read(self._select(OrderRow).where(OrderRow.client_id == client_id)).scalar_one_or_none()

    def get_order_by_id(self, row_id: int) -> OrderRow | None:
        return self._read(self._select(OrderRow).where(OrderRow.id == row_id)).scalar_one_or_none()

    def list_orders(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        symbol: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
    ) -> list[OrderRow]:
        limit, offset = _page(limit, offset)
        q = self._select(OrderRow)
        if symbol is not None:
            q = q.where(OrderRow.symbol == symbol)
        if statuses is not None:
            q = q.where(OrderRow.status.in_([s.value for s in statuses]))
        q = q.order_by(OrderRow.created_ms.desc(), OrderRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ fills
    def insert_fill(self, fill: Fill) -> bool:
        """Write the fill once; True if it was new, False if this fill id was already stored."""
        res = self._insert(
            FillRow,
            {
                "fill_id": fill.fill_id,
                "client_id": fill.client_id,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "amount": fill.amount,
                "price": fill.price,
                "fee": fill.fee,
                "fee_currency": fill.fee_currency,
                "is_maker": fill.is_maker,
                "ts": fill.ts,
            },
            key="fill",
            build=lambda s: s.on_conflict_do_nothing(index_elements=["tenant_id", "fill_id"]).returning(
                FillRow.id
            ),
        )
        return res.first() is not None

    def list_fills(
        self, *, limit: int = 100, offset: int = 0, client_id: str | None = None, symbol: str | None = None
    ) -> list[FillRow]:
        limit, offset = _page(limit, offset)
        q = self._select(FillRow)
        if client_id is not None:
            q = q.where(FillRow.client_id == client_id)
        if symbol is not None:
            q = q.where(FillRow.symbol == symbol)
        q = q.order_by(FillRow.ts.desc(), FillRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    def count(self, model: type[Base]) -> int:
        """Rows of `model` that belong to this tenant."""
        q = select(func.count()).select_from(self._select(model).subquery())
        return int(self._read(q).scalar_one())

    # ------------------------------------------------------------------ positions
    def upsert_position(self, p: PositionRecord) -> int:
        """Insert or update the position (symbol, opened_ms); returns its row id."""
        values = {
            "symbol": p.symbol,
            "side": p.side,
            "amount": p.amount,
            "avg_entry": p.avg_entry,
            "stop": p.stop,
            "take": p.take,
            "trailing_level": p.trailing_level,
            "trailing_state": p.trailing_state,
            "realized_pnl": p.realized_pnl,
            "status": p.status,
            "opened_ms": p.opened_ms,
            "updated_ms": p.updated_ms,
            "closed_ms": p.closed_ms,
        }
        keep = {"symbol", "opened_ms"}
        res = self._insert(
            PositionRow,
            values,
            key="position",
            build=lambda s: s.on_conflict_do_update(
                index_elements=["tenant_id", "symbol", "opened_ms"],
                set_={k: s.excluded[k] for k in values if k not in keep},
            ).returning(PositionRow.id),
        )
        return int(res.scalar_one())

    def get_position(self, row_id: int) -> PositionRow | None:
        return self._read(self._select(PositionRow).where(PositionRow.id == row_id)).scalar_one_or_none()

    def list_positions(
        self, *, status: str | None = None, symbol: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[PositionRow]:
        limit, offset = _page(limit, offset)
        q = self._select(PositionRow)
        if status is not None:
            q = q.where(PositionRow.status == status)
        if symbol is not None:
            q = q.where(PositionRow.symbol == symbol)
        q = q.order_by(PositionRow.opened_ms.desc(), PositionRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ ledger
    def add_ledger_entry(self, e: LedgerEntry) -> bool:
        """Write the entry once (by entry_id); True if it was new."""
        res = self._insert(
            LedgerEntryRow,
            {
                "entry_id": e.entry_id,
                "ts": e.ts,
                "account": e.account,
                "currency": e.currency,
                "amount": e.amount,
                "kind": e.kind,
                "ref": e.ref,
                "note": e.note,
            },
            key="ledger",
            build=lambda s: s.on_conflict_do_nothing(index_elements=["tenant_id", "entry_id"]).returning(
                LedgerEntryRow.id
            ),
        )
        return res.first() is not None

    def list_ledger(
        self, *, limit: int = 100, offset: int = 0, currency: str | None = None
    ) -> list[LedgerEntryRow]:
        limit, offset = _page(limit, offset)
        q = self._select(LedgerEntryRow)
        if currency is not None:
            q = q.where(LedgerEntryRow.currency == currency)
        q = q.order_by(LedgerEntryRow.ts.desc(), LedgerEntryRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ decisions ("thoughts")
    def add_decision(
        self,
        d: Decision,
        *,
        model_version: str | None = None,
        model_probability: float | None = None,
        outcome: str = "",
    ) -> int:
        res = self._insert(
            DecisionRow,
            {
                "ts": d.ts,
                "symbol": d.symbol,
                "direction": d.direction,
                "confidence": d.confidence,
                "price": d.price,
                "stop": d.stop,
                "take": d.take,
                "reasons": list(d.reasons),
                "votes": [list(v) for v in d.strategy_votes],
                "model_version": model_version,
                "model_probability": model_probability,
                "outcome": outcome,
            },
            key="decision",
            build=lambda s: s.returning(DecisionRow.id),
        )
        return int(res.scalar_one())

    def get_decision(self, row_id: int) -> DecisionRow | None:
        return self._read(self._select(DecisionRow).where(DecisionRow.id == row_id)).scalar_one_or_none()

    def list_decisions(
        self, *, symbol: str | None = None, since_ms: int | None = None, limit: int = 100, offset: int = 0
    ) -> list[DecisionRow]:
        limit, offset = _page(limit, offset)
        q = self._select(DecisionRow)
        if symbol is not None:
            q = q.where(DecisionRow.symbol == symbol)
        if since_ms is not None:
            q = q.where(DecisionRow.ts >= since_ms)
        q = q.order_by(DecisionRow.ts.desc(), DecisionRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ equity and metrics
    def add_equity(self, p: EquityPoint) -> None:
        """Record equity at `ts` (a second snapshot at the same ts replaces the first)."""
        self._insert(
            EquitySnapshotRow,
            {"ts": p.ts, "equity": p.equity, "cash": p.cash, "currency": p.currency},
            key="equity",
            conflict=("tenant_id", "ts"),
            deferrable=True,
            build=lambda s: s.on_conflict_do_update(
                index_elements=["tenant_id", "ts"],
                set_={k: s.excluded[k] for k in ("equity", "cash", "currency")},
            ),
        )

    def equity_series(self, *, start_ms: int | None = None, end_ms: int | None = None) -> list[EquityPoint]:
        """Snapshots with start_ms <= ts < end_ms, oldest first (a curve is read left to right)."""
        q = self._select(EquitySnapshotRow)
        if start_ms is not None:
            q = q.where(EquitySnapshotRow.ts >= start_ms)
        if end_ms is not None:
            q = q.where(EquitySnapshotRow.ts < end_ms)
        rows = self._read(q.order_by(EquitySnapshotRow.ts)).scalars()
        return [EquityPoint(r.ts, r.equity, r.cash, r.currency) for r in rows]

    def add_metric(self, m: MetricSample) -> None:
        values = {"name": m.name, "ts": m.ts, "value": m.value, "labels": dict(m.labels)}
        self._insert(MetricRow, values, key="metric", deferrable=True)

    def list_metrics(self, name: str, *, since_ms: int | None = None, limit: int = 1000) -> list[MetricRow]:
        limit, _ = _page(limit, 0)
        q = self._select(MetricRow).where(MetricRow.name == name)
        if since_ms is not None:
            q = q.where(MetricRow.ts >= since_ms)
        q = q.order_by(MetricRow.ts.desc(), MetricRow.id.desc()).limit(limit)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ kv state
    def save_state(self, namespace: str, key: str, value: Any, *, ts_ms: int | None = None) -> None:
        """Store a JSON-serialisable value (trailing stop levels, engine state) under namespace/key."""
        self._insert(
            KvStateRow,
            {"namespace": namespace, "key": key, "value": value, "updated_ms": ts_ms or now_ms()},
            key="kv",
            conflict=("tenant_id", "namespace", "key"),
            deferrable=True,
            build=lambda s: s.on_conflict_do_update(
                index_elements=["tenant_id", "namespace", "key"],
                set_={"value": s.excluded.value, "updated_ms": s.excluded.updated_ms},
            ),
        )

    def load_state(self, namespace: str, key: str, default: Any = None) -> Any:
        row = self._read(
            self._select(KvStateRow).where(KvStateRow.namespace == namespace, KvStateRow.key == key)
        ).scalar_one_or_none()
        return default if row is None else row.value

    def load_namespace(self, namespace: str) -> dict[str, Any]:
        rows = self._read(self._select(KvStateRow).where(KvStateRow.namespace == namespace))
        return {r.key: r.value for r in rows.scalars()}

    def delete_state(self, namespace: str, key: str) -> bool:
        res = self._execute(
            self._delete(KvStateRow).where(KvStateRow.namespace == namespace, KvStateRow.key == key)
        )
        return bool(res.rowcount == 1)

    # ------------------------------------------------------------------ nonces
    def next_nonce(self, exchange: str, account: str = "", *, floor: int = 0) -> int:
        """max(last + 1, floor) for (exchange, account), persisted in the same statement.

        One atomic INSERT .. ON CONFLICT DO UPDATE .. RETURNING: PostgreSQL row-locks the nonce row,
        SQLite holds the database write lock, so concurrent callers each get a distinct, larger value.
        The value is only durable once the surrounding transaction commits: use `allocate_nonce`.
        """
        first = {"exchange": exchange, "account": account, "value": max(floor, 1), "updated_ms": now_ms()}
        bumped = NonceRow.__table__.c.value + 1
        res = self._insert(
            NonceRow,
            first,
            key="nonce",
            build=lambda s: s.on_conflict_do_update(
                index_elements=["tenant_id", "exchange", "account"],
                set_={
                    "value": case((bumped > s.excluded.value, bumped), else_=s.excluded.value),
                    "updated_ms": s.excluded.updated_ms,
                },
            ).returning(NonceRow.value),
        )
        return int(res.scalar_one())

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        action: str,
        params: Mapping[str, Any],
        result: str,
        *,
        key_id: int | None = None,
        actor: str = "",
        ts_ms: int | None = None,
    ) -> None:
        self._insert(
            AuditRow,
            {
                "key_id": key_id,
                "actor": actor,
                "action": action,
                "params": dict(params),
                "result": result,
                "ts": ts_ms if ts_ms is not None else now_ms(),
            },
            key="audit",
            deferrable=True,
        )

    def list_audit(
        self, *, limit: int = 100, offset: int = 0, action: str | None = None, before_id: int | None = None
    ) -> list[AuditRow]:
        """Newest first; `before_id` pages by keyset (entries older than that id)."""
        limit, offset = _page(limit, offset)
        q = self._select(AuditRow)
        if action is not None:
            q = q.where(AuditRow.action == action)
        if before_id is not None:
            q = q.where(AuditRow.id < before_id)
        q = q.order_by(AuditRow.ts.desc(), AuditRow.id.desc()).limit(limit).offset(offset)
        return list(self._read(q).scalars())

    # ------------------------------------------------------------------ retention
    def cleanup(self, retention_days: int, *, now: int | None = None) -> dict[str, int]:
        """Delete decisions, metrics and equity snapshots older than `retention_days`.

        Orders, fills, ledger entries, positions and audit are records of money and authority and are
        never deleted here. Returns the number of rows deleted per table.
        """
        if retention_days < 1:
            raise AitraderError(f"retention must be at least 1 day, got {retention_days}")
        cutoff = (now if now is not None else now_ms()) - retention_days * DAY_MS
        out: dict[str, int] = {}
        for model in (DecisionRow, MetricRow, EquitySnapshotRow):
            res = self._execute(self._delete(model).where(model.ts < cutoff))
            out[model.__tablename__] = int(res.rowcount)
        return out


# ---------------------------------------------------------------------- deferred writes

_PENDING = "aitrader_pending_writes"


class _Pending:
    __slots__ = ("keys", "params", "stmt")

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self.params: list[dict[str, Any]] = []
        self.keys: set[tuple[Any, ...]] = set()


def _defer(session: Session, stmt: Any, params: dict[str, Any], conflict_key: tuple[Any, ...] | None) -> None:
    pending: _Pending | None = session.info.get(_PENDING)
    repeated = conflict_key is not None and pending is not None and conflict_key in pending.keys
    if pending is None or pending.stmt is not stmt or repeated:
        flush_writes(session)
        pending = session.info[_PENDING] = _Pending(stmt)
    pending.params.append(params)
    if conflict_key is not None:
        pending.keys.add(conflict_key)


def flush_writes(session: Session) -> None:
    """Send the writes a deferring TenantSession queued in `session` (no-op when there are none)."""
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is not None and pending.params:
        session.connection().execute(pending.stmt, pending.params)


# ---------------------------------------------------------------------- sessions


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded rows readable after commit (rows are returned to callers)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def tenant_scope(
    engine: Engine, tenant_id: str, *, write: bool = False, create_tenant: bool = False
) -> Iterator[TenantSession]:
    """One transaction for one tenant; commits on normal exit.

    `write=True` takes SQLite's write lock at BEGIN (waits busy_timeout instead of failing later).
    `create_tenant=True` creates the tenant record first when it does not exist.
    """
    with session_factory(engine)() as session:
        if write or create_tenant:
            session.connection(execution_options=WRITE_OPTIONS)
        ts = TenantSession(session, tenant_id)
        try:
            if create_tenant:
                ts.ensure_tenant()
            yield ts
            flush_writes(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise


def allocate_nonce(
    engine: Engine, tenant_id: str, exchange: str, account: str = "", *, floor: int = 0
) -> int:
    """A nonce that is committed (so never handed out again, even after a crash) before it is returned.
    The tenant record is created if missing: a live session signs its first requests (balances, open
    orders) while assembling, before its writer has written anything."""
    with tenant_scope(engine, tenant_id, write=True, create_tenant=True) as ts:
        return ts.next_nonce(exchange, account, floor=floor)


# ---------------------------------------------------------------------- rows -> domain types


def order_from_row(row: OrderRow) -> Order:
    req = OrderRequest(
        client_id=row.client_id,
        symbol=row.symbol,
        side=Side(row.side),
        type=OrderType(row.type),
        amount=row.amount,
        price=row.price,
        stop_price=row.stop_price,
        purpose=OrderPurpose(row.purpose),
        created_ms=row.created_ms,
        strategy=row.strategy,
        reduce_only=row.reduce_only,
        expire_ms=row.expire_ms,
    )
    return Order(
        request=req,
        status=OrderStatus(row.status),
        venue_id=row.venue_id,
        filled=row.filled,
        avg_price=row.avg_price,
        fees=row.fees,
        updated_ms=row.updated_ms,
        reason=row.reason,
    )


def fill_from_row(row: FillRow) -> Fill:
    return Fill(
        fill_id=row.fill_id,
        client_id=row.client_id,
        symbol=row.symbol,
        side=Side(row.side),
        amount=row.amount,
        price=row.price,
        fee=row.fee,
        fee_currency=row.fee_currency,
        ts=row.ts,
        is_maker=row.is_maker,
    )


def decision_from_row(row: DecisionRow) -> Decision:
    return Decision(
        ts=row.ts,
        symbol=row.symbol,
        direction=row.direction,
        confidence=row.confidence,
        price=row.price,
        stop=row.stop,
        take=row.take,
        reasons=tuple(row.reasons),
        strategy_votes=tuple((str(v[0]), int(v[1]), float(v[2])) for v in row.votes),
    )


__all__ = [
    "MAX_PAGE",
    "TenantError",
    "TenantSession",
    "allocate_nonce",
    "decision_from_row",
    "fill_from_row",
    "order_from_row",
    "session_factory",
    "tenant_scope",
]
