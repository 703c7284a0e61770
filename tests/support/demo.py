"""Loading the demo in tests: ``load_demo`` with the draft estimate's reader installed (the
demo drafts each year's estimate from the read models, as ``ledger demo`` does)."""

from __future__ import annotations

import sqlalchemy as sa

from demo.run import DemoSummary
from demo.run import load_demo as load_demo_program
from ledger.service import Ledger
from projections import estimate_inputs
from projections.base import SETS
from projections.projector import Projector
from projections.registry import PROJECTIONS, all_tables
from projections.state import projection_state


def load_demo(
    ledger: Ledger, *, seed: int = 6374, scale: float = 1.0, unfolded: bool = False
) -> DemoSummary:
    """The demo program in ``ledger`` (empty), its estimates drafted from the read models.

    The drafts catch the read models they read up as the load goes. With ``unfolded``, every
    read model is emptied afterwards, as if nothing had folded the log yet (for the tests of
    catching up from the first event)."""
    if ledger.estimate_inputs is None:
        estimate_inputs.install(ledger, Projector(ledger))
    summary = load_demo_program(ledger, seed=seed, scale=scale)
    if unfolded:
        empty_read_models(ledger)
    return summary


def empty_read_models(ledger: Ledger) -> None:
    """Every read model's tables emptied and its tracking row back to nothing folded."""
    metadata = all_tables()
    names = [cls.NAME for cls in PROJECTIONS]
    with ledger.engine.begin() as connection:
        for cls in PROJECTIONS:
            for table_def in cls.TABLES:
                for s in SETS:
                    connection.execute(sa.delete(metadata.tables[f"{table_def.name}_{s}"]))
        connection.execute(
            sa.update(projection_state)
            .where(projection_state.c.name.in_(names))
            .values(active_set="a", position=0, rebuild_set=None, rebuild_position=None)
        )
