"""The Merkle tree over the event log (both table sets) and the signed checkpoints.

``audit_checkpoints`` is append-only in the database itself, like the events table: a
checkpoint is a signed statement about the log and is never changed or taken back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import Table

from projections.base import SETS, all_tables
from projections.checkpoints import checkpoints

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("merkle_leaves", "merkle_nodes")
MESSAGE = "audit_checkpoints is append-only: a signed checkpoint is never changed or removed"


def _tables() -> list[Table]:
    names = {f"{name}_{s}" for name in TABLES for s in SETS}
    return [table for name, table in all_tables().tables.items() if name in names]


def upgrade() -> None:
    bind = op.get_bind()
    all_tables().create_all(bind, tables=_tables())
    checkpoints.create(bind)
    if bind.dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE "
            "ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoints_no_{verb.lower()} BEFORE {verb} "
                f"ON audit_checkpoints BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("Signed checkpoints are never dropped by a migration.")
