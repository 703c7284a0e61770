"""The read side of one HTTP app: the ledger, its one projector and its cache of replays.

``create_app`` makes one and keeps it on ``app.state.read_side``; it hands it to every reader
of the route table (``api.routes``), to the live follower and to the replay-snapshot maker
it runs. Readers take from it what they need: the ledger's queries, the projector's live read
models (and the Merkle tree), the cache's past views.
"""

from __future__ import annotations

import threading

from ledger.service import Ledger
from projections import estimate_inputs
from projections.projector import Projector
from projections.replay_cache import ReplayCache


class ReadSide:
    """What the readers of one app share (thread-safe)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        #: finished replays of past views, kept to be read again
        self.replays = ReplayCache()
        self._projector: Projector | None = None
        self._lock = threading.Lock()
        # the draft estimate reads its figures from this side's read models
        ledger.estimate_inputs = lambda budget_year: estimate_inputs.read_inputs(
            self.projector, budget_year
        )

    @property
    def projector(self) -> Projector:
        """The app's one projector: every live read, the live follower and the health of the
        background workers go through it. Made when first asked, not with the app: making it
        writes the projections' tracking rows, which waits for the database."""
        with self._lock:
            if self._projector is None:
                self._projector = Projector(self.ledger)
            return self._projector
