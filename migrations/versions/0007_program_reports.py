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

from alembic import op

from migrations import read_models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: the projection this revision adds, and the one it rebuilds
ADDED = "program"
REBUILT = "budget_execution"


def upgrade() -> None:
    bind = op.get_bind()
    read_models.remake(bind, read_models.set_tables(ADDED, REBUILT))
    read_models.reset(bind, REBUILT)


def downgrade() -> None:
    bind = op.get_bind()
    read_models.drop(bind, read_models.set_tables(ADDED))
    read_models.forget(bind, ADDED)
    read_models.reset(bind, REBUILT)
