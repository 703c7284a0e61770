"""The read side of one HTTP app: the ledger, its one projector and its cache of replays.

``create_app`` makes one and keeps it on ``app.state.read_side``; it hands it to every reader
of the route table (``api.routes``), to the live follower and to the replay-snapshot maker
it runs. Readers take from it what they need: the ledger's queries, the projector's live read
models (and the Merkle tree), the cache's past views, and how the background work is doing
(:meth:`ReadSide.background`: in this process, or, in an HTTP worker of ``ledger serve
--workers N``, as the process that runs it publishes it on its board).

Its caches (:attr:`ReadSide.answers`, :attr:`ReadSide.figures`, the roots) are this
process's own, and stay right beside the other workers': each answer is kept by the
positions of the read models it was read from, and positions are read from the database.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from ledger.service import Ledger
from projections import estimate_inputs
from projections.health import Board, Published
from projections.projector import Projector
from projections.replay_cache import ReplayCache

T = TypeVar("T")


class Answers:
    """Finished live answers by (what was asked, the positions of the read models it was read
    from): a read model changes only when its position does, so a report (or a page's
    figures) asked again at the same positions is the same answer. The ``size`` most
    recently used are kept."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}

    def making(self, key: Hashable) -> threading.Lock:
        """The lock of one answer being made: readers asking for the same answer at once wait
        for the first to make it, instead of each making it (a report that takes a second
        would otherwise be made by every client that asked during that second)."""
        with self._lock:
            if len(self._making) > 4 * self.size:
                self._making.clear()
            return self._making.setdefault(key, threading.Lock())

    def get(self, key: Hashable) -> Any:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: Hashable, answer: Any) -> None:
        with self._lock:
            self._kept[key] = answer
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


class ReadSide:
    """What the readers of one app share (thread-safe)."""

    def __init__(self, ledger: Ledger, board: Board | None = None) -> None:
        self.ledger = ledger
        #: where another process publishes how the background work is doing (None: this
        #: process runs it, or nobody does)
        self.board = board
        #: finished replays of past views, kept to be read again
        self.replays = ReplayCache()
        #: finished live report answers, by report, parameters and position
        self.answers = Answers()
        #: the figures of pages, by page, its parameters and the positions they were read at
        self.figures = Answers(size=512)
        #: Merkle roots by tree size (a root never changes once the log holds that many)
        self.roots: dict[int, str | None] = {}
        self._projector: Projector | None = None
        self._lock = threading.Lock()
        # the draft estimate reads its figures from this side's read models
        ledger.estimate_inputs = lambda budget_year: estimate_inputs.read_inputs(
            self.projector, budget_year
        )

    def kept(
        self,
        key: Hashable,
        names: tuple[str, ...],
        make: Callable[[], T],
        positions: tuple[int, ...] | None = None,
    ) -> T:
        """``make()``, made once while the read models ``names`` stay at the positions they
        reflect now (one query, unless the caller has just read them: ``positions``) and given
        again until one of them moves: the figures of a page, say. ``make`` reads those read
        models itself, at their positions then or later, never earlier; what it answers is
        shared and must not be changed."""
        at = (key, positions if positions is not None else self.projector.positions(names))
        with self.figures.making(at):
            found = self.figures.get(at)
            if found is None:
                found = make()
                self.figures.put(at, found)
        return found  # type: ignore[no-any-return]

    def background(self) -> Published:
        """How the live follower and the replay-snapshot maker are doing, and how many HTTP
        worker processes serve: from the board of the process that runs them, else this
        process's own (one worker)."""
        if self.board is not None:
            return self.board.read()
        projector = self.projector
        return Published(
            projector.follower.as_json(), projector.snapshot_maker.as_json(), 1, os.getpid()
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
