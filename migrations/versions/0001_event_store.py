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

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION ledger_events_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_events_no_update_delete BEFORE UPDATE OR DELETE "
            "ON ledger_events FOR EACH ROW EXECUTE FUNCTION ledger_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE "
            "ON ledger_events FOR EACH STATEMENT EXECUTE FUNCTION ledger_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_events_no_{verb.lower()} BEFORE {verb} ON ledger_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("The event store is never dropped by a migration.")
