"""Budget cycle: the money read models gain the channel, carry-over, cancellation and
counterpart funding; they are rebuilt from the log.

Read models are disposable. The projections whose tables change (``project_spend``,
``journal``, ``budget_execution``, ``registers``) get every table of both sets dropped and
made again from their own definitions (``projections/*.py``, as 0002 does), new tables
included (``project_spend_counterpart``, ``project_spend_counts``,
``budget_execution_estimates``), and their tracking rows reset to nothing folded on set
``a``: the next catch-up (``ledger serve``, ``ledger projections catch-up``) folds them again
from the first event, in the new shape. The event log is not touched. On PostgreSQL the
application's role (0004) gets the read-model privileges on every table made here.

Downgrade drops the tables this revision added and resets the same tracking rows; the tables
it remade keep their new shape (the old definitions are no longer in the code): run the
older code's migrations from an empty database, or rebuild, rather than downgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from projections.base import SETS
from projections.registry import BY_NAME, all_tables
from projections.state import projection_state

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_APP_ROLE: Any = importlib.import_module("migrations.versions.0004_app_role")

#: the projections rebuilt by this revision
REBUILT = ("project_spend", "journal", "budget_execution", "registers")
#: the tables this revision adds
ADDED = ("project_spend_counterpart", "project_spend_counts", "budget_execution_estimates")


def _names(projections: tuple[str, ...]) -> list[str]:
    return [
        f"{table_def.name}_{s}"
        for name in projections
        for table_def in BY_NAME[name].TABLES
        for s in SETS
    ]


def _reset(bind: sa.Connection) -> None:
    bind.execute(
        sa.update(projection_state)
        .where(projection_state.c.name.in_(REBUILT))
        .values(
            active_set="a", position=0, rebuild_set=None, rebuild_position=None, last_error=None
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    names = _names(REBUILT)
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
    for name in (f"{added}_{s}" for added in ADDED for s in SETS):
        if name in existing:
            metadata.tables[name].drop(bind)
    _reset(bind)
