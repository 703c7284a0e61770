"""Projections: the tracking table and both table sets (``_a``, ``_b``) of every read model.

The tables are made from the projections' own definitions (``projections/*.py``), so a
read model and its migration cannot disagree; the read models of this revision are listed by
name, and later read models (or a later change to a definition) come with migrations of
their own.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op
from sqlalchemy import Table

from projections.base import SETS
from projections.registry import all_tables
from projections.state import metadata as state_metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


#: the read models of this revision; later ones come with their own migrations
TABLES = (
    "project_spend",
    "project_spend_apps",
    "department_activity",
    "audit_trail",
    "audit_trail_labels",
    "target_progress",
    "target_progress_apps",
    "target_progress_counted",
    "register_applications",
    "register_enterprises",
    "register_activities",
    "register_budget_lines",
    "journal_postings",
    "journal_balances",
    "journal_apps",
    "budget_execution",
)


def _tables() -> list[Table]:
    names = {f"{name}_{s}" for name in TABLES for s in SETS}
    return [table for name, table in all_tables().tables.items() if name in names]


def upgrade() -> None:
    bind = op.get_bind()
    state_metadata.create_all(bind)
    all_tables().create_all(bind, tables=_tables())


def downgrade() -> None:
    bind = op.get_bind()
    all_tables().drop_all(bind, tables=_tables())
    state_metadata.drop_all(bind)
