"""Program reports: the ``program`` read model (every table of both sets, made from its own
definitions in ``projections/program.py``), and ``budget_execution`` rebuilt so that the
appraisal's reasons are kept beside its lines (the estimate report shows them).

The new projection has no tracking row yet: the next catch-up (``ledger serve``, ``ledger
projections catch-up``) folds it from the first event. ``budget_execution``'s tables are
dropped and made again and its tracking row reset to nothing folded on set ``a``, as 0006
does. The event log is not touched. On PostgreSQL the application's role (0004) gets the
read-model privileges on every table made here.

Downgrade drops the ``program`` tables and its tracking row and resets ``budget_execution``
(its tables keep their shape, which did not change).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from projections.base import SETS
from projections.registry import BY_NAME, all_tables
from projections.state import projection_state

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")

#: the projection this revision adds, and the one it rebuilds
ADDED = "program"
REBUILT = "budget_execution"


def _names(projection: str) -> list[str]:
    return [f"{d.name}_{s}" for d in BY_NAME[projection].TABLES for s in SETS]


def upgrade() -> None:
    bind = op.get_bind()
    names = _names(ADDED) + _names(REBUILT)
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    tables = [metadata.tables[name] for name in names]
    for table in tables:
        if table.name in existing:
            table.drop(bind)
    metadata.create_all(bind, tables=tables)
    bind.execute(
        sa.update(projection_state)
        .where(projection_state.c.name == REBUILT)
        .values(
            active_set="a", position=0, rebuild_set=None, rebuild_position=None, last_error=None
        )
    )
    _APP_ROLE.grant_read_model(bind, names)


def downgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    for name in _names(ADDED):
        if name in existing:
            metadata.tables[name].drop(bind)
    bind.execute(sa.delete(projection_state).where(projection_state.c.name == ADDED))
    bind.execute(
        sa.update(projection_state)
        .where(projection_state.c.name == REBUILT)
        .values(
            active_set="a", position=0, rebuild_set=None, rebuild_position=None, last_error=None
        )
    )
