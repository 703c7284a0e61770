"""Projections: the tracking table and both table sets (``_a``, ``_b``) of every read model.

The tables are made from the projections' own definitions (``projections/*.py``), so a
read model and its migration cannot disagree; a later change to a definition comes with a
migration of its own.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

from projections.base import all_tables
from projections.state import metadata as state_metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    state_metadata.create_all(bind)
    all_tables().create_all(bind)


def downgrade() -> None:
    bind = op.get_bind()
    all_tables().drop_all(bind)
    state_metadata.drop_all(bind)
