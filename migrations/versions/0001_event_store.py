"""Event store, idempotency keys, append-only triggers.

The events table has exactly the shape eventsourcing-sqlalchemy 1.0 maps for the
``Ledger`` application (``ledger_events``). The events table rejects
UPDATE and DELETE (and TRUNCATE on PostgreSQL) in the database itself.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy_utils.types.uuid import UUIDType

from migrations import append_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY_MESSAGE = "ledger_events is append-only: events are never updated or deleted"


def upgrade() -> None:
    op.create_table(
        "ledger_events",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("originator_id", UUIDType(), nullable=False),
        sa.Column("originator_version", BIGINT, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ledger_events_aggregate_idx",
        "ledger_events",
        ["originator_id", "originator_version"],
        unique=True,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    append_only.install("ledger_events", APPEND_ONLY_MESSAGE)


def downgrade() -> None:
    raise NotImplementedError("The event store is never dropped by a migration.")
