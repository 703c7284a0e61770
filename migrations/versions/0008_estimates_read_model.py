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

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from projections.base import SETS
from projections.registry import BY_NAME, all_tables
from projections.state import projection_state

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")

ADDED = "estimates"


def _names() -> list[str]:
    return [f"{d.name}_{s}" for d in BY_NAME[ADDED].TABLES for s in SETS]


def upgrade() -> None:
    bind = op.get_bind()
    names = _names()
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    tables = [metadata.tables[name] for name in names]
    for table in tables:
        if table.name in existing:
            table.drop(bind)
    metadata.create_all(bind, tables=tables)
    _APP_ROLE.grant_read_model(bind, names)


def downgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    for name in _names():
        if name in existing:
            metadata.tables[name].drop(bind)
    bind.execute(sa.delete(projection_state).where(projection_state.c.name == ADDED))
