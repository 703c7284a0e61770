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

from alembic import op

from migrations import read_models
from projections.base import SETS

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: the projection this revision rebuilds, and the table it adds to it
REBUILT = "audit_trail"
ADDED = "audit_trail_people"


def upgrade() -> None:
    bind = op.get_bind()
    read_models.remake(bind, read_models.set_tables(REBUILT))
    read_models.reset(bind, REBUILT)


def downgrade() -> None:
    bind = op.get_bind()
    read_models.drop(bind, [f"{ADDED}_{s}" for s in SETS])
    read_models.reset(bind, REBUILT)
