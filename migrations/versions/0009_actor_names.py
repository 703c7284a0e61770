"""Actors by name: the audit trail names each event's actor as they were when it was recorded
(``actor_name``), from a users register it folds as it goes (``audit_trail_people``,
``projections/audit_trail.py``); it is rebuilt from the log.

Every table of ``audit_trail`` (both sets) is dropped and made again from its definition, the
new ``audit_trail_people`` included, and its tracking row reset to nothing folded on set
``a``, as 0006 does: the next catch-up (``ledger serve``, ``ledger projections catch-up``)
folds it again from the first event, every row with its actor's name. The event log is not
touched. On PostgreSQL the application's role (0004) gets the read-model privileges on every
table made here.

Downgrade drops ``audit_trail_people`` and resets the trail's tracking row; the trail's tables
keep their new shape (its ``actor_name`` column is nullable, so older code still writes them).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from projections.base import SETS
from projections.registry import BY_NAME, all_tables
from projections.state import projection_state

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")

#: the projection this revision rebuilds, and the table it adds to it
REBUILT = "audit_trail"
ADDED = "audit_trail_people"


def _names() -> list[str]:
    return [f"{d.name}_{s}" for d in BY_NAME[REBUILT].TABLES for s in SETS]


def _reset(bind: sa.Connection) -> None:
    bind.execute(
        sa.update(projection_state)
        .where(projection_state.c.name == REBUILT)
        .values(
            active_set="a", position=0, rebuild_set=None, rebuild_position=None, last_error=None
        )
    )


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
    _reset(bind)
    _APP_ROLE.grant_read_model(bind, names)


def downgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    metadata = all_tables()
    for name in (f"{ADDED}_{s}" for s in SETS):
        if name in existing:
            metadata.tables[name].drop(bind)
    _reset(bind)
