"""orders.expire_ms: the venue-side expiry a limit entry was sent with

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 (written by hand; checked against storage/schema.py by the migration tests)

Kept so that a replacement sent after a restart carries the same venue-side lifetime.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("expire_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("expire_ms")
