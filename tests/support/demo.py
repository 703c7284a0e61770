"""Loading the demo in tests: ``load_demo`` with the draft estimate's reader installed (the
demo drafts each year's estimate from the read models, as ``ledger demo`` does)."""

from __future__ import annotations

from demo.run import DemoSummary
from demo.run import load_demo as load_demo_program
from ledger.service import Ledger
from projections import estimate_inputs
from projections.projector import Projector


def load_demo(ledger: Ledger, *, seed: int = 6374, scale: float = 1.0) -> DemoSummary:
    """The demo program in ``ledger`` (empty), its estimates drafted from the read models."""
    if ledger.estimate_inputs is None:
        estimate_inputs.install(ledger, Projector(ledger))
    return load_demo_program(ledger, seed=seed, scale=scale)
