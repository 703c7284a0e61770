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

from alembic import op

from migrations import read_models
from projections.base import SETS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: the projections rebuilt by this revision
REBUILT = ("project_spend", "journal", "budget_execution", "registers")
#: the tables this revision adds
ADDED = ("project_spend_counterpart", "project_spend_counts", "budget_execution_estimates")


def upgrade() -> None:
    bind = op.get_bind()
    read_models.remake(bind, read_models.set_tables(*REBUILT))
    read_models.reset(bind, *REBUILT)


def downgrade() -> None:
    bind = op.get_bind()
    read_models.drop(bind, [f"{added}_{s}" for added in ADDED for s in SETS])
    read_models.reset(bind, *REBUILT)
