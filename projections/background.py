"""The background work of a server, as threads of ONE process: the live follower
(:meth:`~projections.projector.Projector.follow`) and the replay-snapshot maker
(:func:`~projections.replay.keep_snapshots`).

``ledger serve --workers 1`` runs them in its one process, beside the HTTP app (its
lifespan, ``api/app.py``). ``ledger serve --workers N`` runs them in the process that
supervises the N HTTP workers (``api/serving.py``), and only there: the projections'
tracking rows have one writer, and no worker folds (they wait for this follower). That
process also publishes their health on a :class:`~projections.health.Board`, which the
workers read for ``/api/health``.
"""

from __future__ import annotations

import contextlib
import threading

from projections.health import Board, keep_publishing
from projections.projector import Projector
from projections.replay import keep_snapshots

#: how long stopping waits for each thread (a fold in progress finishes its batch)
STOP_WITHIN = 10.0


class Background:
    """The follower and the snapshot maker of ``projector`` (and, given a ``board``, the
    publisher of their health for ``workers`` HTTP worker processes); :meth:`start`, then
    :meth:`stop`."""

    def __init__(self, projector: Projector, board: Board | None = None, workers: int = 1) -> None:
        self.projector = projector
        self.board = board
        self.workers = workers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        projector = self.projector
        self._threads = [
            threading.Thread(
                target=projector.follow, args=(self._stop,), name="projections-follow", daemon=True
            ),
            threading.Thread(
                target=keep_snapshots,
                args=(projector.ledger, self._stop),
                kwargs={"worker": projector.snapshot_maker},
                name="replay-snapshots",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        if self.board is not None:
            self._publish()  # before any worker reads it
            publisher = threading.Thread(
                target=keep_publishing,
                args=(self.board, projector.follower, projector.snapshot_maker, self.workers),
                kwargs={"stop": self._stop},
                name="health-board",
                daemon=True,
            )
            publisher.start()
            self._threads.append(publisher)

    def stop(self) -> None:
        """Stop every thread (each finishes what it is doing, bounded), then say so on the
        board."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=STOP_WITHIN)
        if self.board is not None:
            with contextlib.suppress(OSError):
                self._publish()

    def _publish(self) -> None:
        assert self.board is not None
        projector = self.projector
        self.board.publish(projector.follower, projector.snapshot_maker, self.workers)
