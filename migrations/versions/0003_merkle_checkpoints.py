"""The Merkle tree over the event log (both table sets) and the signed checkpoints.

``audit_checkpoints`` is append-only in the database itself, like the events table: a
checkpoint is a signed statement about the log and is never changed or taken back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import Table

from migrations import append_only
from projections.base import SETS
from projections.checkpoints import checkpoints
from projections.registry import all_tables

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
    append_only.install("audit_checkpoints", MESSAGE)


def downgrade() -> None:
    raise NotImplementedError("Signed checkpoints are never dropped by a migration.")
