"""The ``estimates`` read model: each year's annual estimate, stage by stage (needs, draft
versions, returns, appraisal, approval), for the estimate page (``projections/estimates.py``).

The new projection has no tracking row yet: the next catch-up (``ledger serve``, ``ledger
projections catch-up``) folds it from the first event. The event log is not touched. On
PostgreSQL the application's role (0004) gets the read-model privileges on its tables.

Downgrade drops its tables and its tracking row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

from migrations import read_models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ADDED = "estimates"


def upgrade() -> None:
    read_models.remake(op.get_bind(), read_models.set_tables(ADDED))


def downgrade() -> None:
    bind = op.get_bind()
    read_models.drop(bind, read_models.set_tables(ADDED))
    read_models.forget(bind, ADDED)
