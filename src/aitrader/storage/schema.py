"""The database schema: one typed declarative model per table.

Conventions (checked by tests): every table has an indexed `tenant_id` that references `tenants`, and
every natural-key unique constraint starts with `tenant_id`, so two tenants can use the same client
order id, fill id or state key without colliding. The single exception is `api_keys.key_prefix`: it is
unique across tenants because a presented key is looked up by prefix *before* its tenant is known.

Money columns use `Money` (exact Decimal, see `types.py`); every timestamp is `BigInteger` epoch ms UTC
(`*_ms` or `ts`). Floats only where the domain is statistical (confidence, probabilities, metrics,
decision prices which come from float indicators).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aitrader.storage.types import IdType, Money

# Deterministic constraint names so alembic migrations can refer to (and drop) them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_ID_LENGTH = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _tenant_fk() -> Mapped[str]:
    return mapped_column(
        String(TENANT_ID_LENGTH), ForeignKey("tenants.tenant_id", ondelete="RESTRICT"), index=True
    )


def _id() -> Mapped[int]:
    return mapped_column(IdType, primary_key=True, autoincrement=True)


class Tenant(Base):
    """A customer (or the one operator of a self-hosted install: tenant `default`)."""

    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    disabled_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ApiKey(Base):
    """An API key: only its prefix (for lookup) and a hash of the whole key are stored."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_prefix"),)

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    key_prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_used_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class OrderRow(Base):
    """Latest known state of one order (upserted by `client_id`); history lives in fills and audit."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "client_id"),
        Index("ix_orders_tenant_created", "tenant_id", "created_ms"),
        Index("ix_orders_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    client_id: Mapped[str] = mapped_column(String(64))
    venue_id: Mapped[str | None] = mapped_column(String(128), default=None)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    stop_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expire_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)  # good till (venue-side)
    status: Mapped[str] = mapped_column(String(20))
    filled: Mapped[Decimal] = mapped_column(Money)
    avg_price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    fees: Mapped[Decimal] = mapped_column(Money)
    strategy: Mapped[str] = mapped_column(String(100), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")


class FillRow(Base):
    """One execution, written once (`fill_id` is the venue's trade id, unique per tenant)."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fill_id"),
        Index("ix_fills_tenant_client", "tenant_id", "client_id"),
        Index("ix_fills_tenant_ts", "tenant_id", "ts"),
    )

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    fill_id: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    price: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money)
    fee_currency: Mapped[str] = mapped_column(String(16))
    is_maker: Mapped[bool] = mapped_column(Boolean, default=False)
    ts: Mapped[int] = mapped_column(BigInteger)


class PositionRow(Base):
    """A position from open to close; identified by (symbol, opened_ms) within a tenant."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "symbol", "opened_ms"),
        Index("ix_positions_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    avg_entry: Mapped[Decimal] = mapped_column(Money)
    stop: Mapped[Decimal | None] = mapped_column(Money, default=None)
    take: Mapped[Decimal | None] = mapped_column(Money, default=None)
    trailing_level: Mapped[Decimal | None] = mapped_column(Money, default=None)
    trailing_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    realized_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    opened_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    closed_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)


class LedgerEntryRow(Base):
    """Double-entry style money movement (trade, fee, pnl, deposit...); `entry_id` makes writes idempotent."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "entry_id"),
        Index("ix_ledger_tenant_ts", "tenant_id", "ts"),
    )

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    entry_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(128), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class DecisionRow(Base):
    """A decision with its reasons (the "thoughts" the dashboard shows); ML fields when the gate ran."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_tenant_ts", "tenant_id", "ts"),
        Index("ix_decisions_tenant_symbol_ts", "tenant_id", "symbol", "ts"),
    )

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    ts: Mapped[int] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(64))
    direction: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    stop: Mapped[float | None] = mapped_column(Float, default=None)
    take: Mapped[float | None] = mapped_column(Float, default=None)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    votes: Mapped[list[Any]] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    model_probability: Mapped[float | None] = mapped_column(Float, default=None)
    outcome: Mapped[str] = mapped_column(String(32), default="")  # e.g. traded, gated, rejected: <why>


class EquitySnapshotRow(Base):
    """Account equity at one instant (one per tenant and ts), for the equity curve."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (UniqueConstraint("tenant_id", "ts"),)

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    ts: Mapped[int] = mapped_column(BigInteger)
    equity: Mapped[Decimal] = mapped_column(Money)
    cash: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(16))


class MetricRow(Base):
    """A sampled numeric metric (latency, queue depth...) with free-form labels."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_tenant_name_ts", "tenant_id", "name", "ts"),)

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    ts: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float] = mapped_column(Float)
    labels: Mapped[dict[str, str]] = mapped_column(JSON)


class AuditRow(Base):
    """Who (key) did what (action + params) with which result; append-only."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_tenant_ts", "tenant_id", "ts"),)

    id: Mapped[int] = _id()
    tenant_id: Mapped[str] = _tenant_fk()
    key_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # no FK: audit outlives keys
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[str] = mapped_column(Text)
    ts: Mapped[int] = mapped_column(BigInteger)


class NonceRow(Base):
    """Last nonce handed out per (tenant, exchange, account); only ever grows."""

    __tablename__ = "nonces"

    tenant_id: Mapped[str] = mapped_column(
        String(TENANT_ID_LENGTH),
        ForeignKey("tenants.tenant_id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    )
    exchange: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class KvStateRow(Base):
    """Small JSON state that must survive restarts (trailing stops, engine state), by namespace + key."""

    __tablename__ = "kv_state"

    tenant_id: Mapped[str] = mapped_column(
        String(TENANT_ID_LENGTH),
        ForeignKey("tenants.tenant_id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    )
    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


TENANT_SCOPED: tuple[type[Base], ...] = (
    ApiKey,
    OrderRow,
    FillRow,
    PositionRow,
    LedgerEntryRow,
    DecisionRow,
    EquitySnapshotRow,
    MetricRow,
    AuditRow,
    NonceRow,
    KvStateRow,
)
