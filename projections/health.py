"""How the background work of a server is doing: the live follower and the replay-snapshot
maker, each a thread that must survive the faults it meets (a dropped connection, a database
restarted) by trying again with a growing wait, and say so.

A :class:`Worker` is the one place a thread records what it is doing; ``/api/health`` and
``/api/health/ready`` read it (in the process that runs it; the other processes of a server,
its HTTP workers, read it from the :class:`Board` that process publishes). Its states:

- ``off``: not started in this process (a server runs both; tests and commands may not);
- ``running``: its last pass succeeded;
- ``retrying``: its last pass failed (``last_error`` says why); it waits ``retry_in``
  seconds, then tries again, and is ``running`` again once a pass succeeds;
- ``stopped``: stopped on purpose (the server is shutting down);
- ``dead``: its thread ended without being stopped (a fault it could not survive).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import settings

#: the longest wait between two tries of a failing worker, in seconds
MAX_BACKOFF = 10.0
#: the first wait after a failure, doubled at each failure in a row
FIRST_BACKOFF = 0.25


def backoff(failures: int) -> float:
    """The wait after ``failures`` failures in a row: doubling from :data:`FIRST_BACKOFF`
    up to :data:`MAX_BACKOFF` seconds."""
    return float(min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, failures - 1)))


def ready_max_lag() -> int:
    """How far behind the head (in events) a projection may be while the server is ready:
    ``LEDGER_READY_MAX_LAG`` (see :mod:`ledger.settings`)."""
    return settings.READY_MAX_LAG.get()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass
class Worker:
    """The health of one background thread (thread-safe)."""

    name: str
    state: str = "off"
    since: dt.datetime = field(default_factory=_now)
    last_error: str | None = None
    last_success: dt.datetime | None = None
    failures: int = 0
    retry_in: float = 0.0
    thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def started(self, thread: threading.Thread) -> None:
        with self._lock:
            self.thread = thread
            self._move("running")

    def succeeded(self) -> None:
        with self._lock:
            self.last_success = _now()
            self.failures = 0
            self.retry_in = 0.0
            self._move("running")

    def failed(self, error: BaseException) -> float:
        """Note a failed pass; answer how long to wait before the next one."""
        with self._lock:
            self.failures += 1
            self.last_error = f"{type(error).__name__}: {' '.join(str(error).split())}"[:500]
            self.retry_in = backoff(self.failures)
            self._move("retrying")
            return self.retry_in

    def stopped(self) -> None:
        with self._lock:
            self._move("stopped")

    def _move(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, _now()

    def current(self) -> str:
        """The state, ``dead`` if its thread ended without being stopped."""
        with self._lock:
            if self.state in ("running", "retrying") and not (
                self.thread is not None and self.thread.is_alive()
            ):
                return "dead"
            return self.state

    def as_json(self) -> dict[str, Any]:
        state = self.current()
        with self._lock:
            return {
                "state": state,
                "since": _iso(self.since),
                "last_error": self.last_error,
                "last_success": _iso(self.last_success),
                "retry_in": self.retry_in if state == "retrying" else None,
                "pid": os.getpid() if self.thread is not None else None,
            }


#: how often the process that runs the background work republishes its board (seconds)
PUBLISH_EVERY = 0.5
#: a board not republished for this long says its process has stopped (seconds)
STALE_AFTER = 5.0


@dataclass(frozen=True)
class Published:
    """What a :class:`Board` says: the two workers' states (as :meth:`Worker.as_json`), how
    many HTTP worker processes the server runs, and the process that runs the workers."""

    follower: dict[str, Any]
    snapshots: dict[str, Any]
    workers: int
    pid: int | None


class Board:
    """The health of a server's background work, for the server's other processes.

    ``ledger serve --workers N`` runs the live follower and the replay-snapshot maker in one
    process (the supervisor of the N HTTP workers); it publishes their states here every
    :data:`PUBLISH_EVERY` seconds, a small JSON file replaced whole (never read half
    written), and each worker reads it to answer ``/api/health``. A board not republished
    for ``stale_after`` seconds says both are dead: their process has stopped or hangs.
    The time is the machine's monotonic clock (one clock for every process of a machine;
    a server's processes share one)."""

    def __init__(self, path: Path, stale_after: float = STALE_AFTER) -> None:
        self.path = path
        self.stale_after = stale_after

    def publish(self, follower: Worker, snapshots: Worker, workers: int) -> None:
        state = {
            "pid": os.getpid(),
            "at": time.monotonic(),
            "published_at": _iso(_now()),
            "workers": workers,
            "follower": follower.as_json(),
            "snapshots": snapshots.as_json(),
        }
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        os.replace(partial, self.path)

    def read(self) -> Published:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            why = f"its health cannot be read ({type(error).__name__}: {error})"
            return Published(_dead(why), _dead(why), 1, None)
        pid, age = int(state["pid"]), time.monotonic() - float(state["at"])
        if age > self.stale_after:
            why = f"the process that runs it (pid {pid}) has said nothing for {age:.0f} s"
            since = state["published_at"]
            follower = _dead(why, state["follower"], since)
            snapshots = _dead(why, state["snapshots"], since)
            return Published(follower, snapshots, int(state["workers"]), pid)
        return Published(state["follower"], state["snapshots"], int(state["workers"]), pid)


def _dead(why: str, last: dict[str, Any] | None = None, since: str | None = None) -> dict[str, Any]:
    """A worker's state as ``dead`` (``since`` then, else now) for ``why``, with what was
    last known of it."""
    last = last or {}
    return {
        "state": "dead",
        "since": since or _iso(_now()),
        "last_error": why,
        "last_success": last.get("last_success"),
        "retry_in": None,
        "pid": last.get("pid"),
    }


def keep_publishing(
    board: Board, follower: Worker, snapshots: Worker, workers: int, stop: threading.Event
) -> None:
    """Publish the two workers' states on ``board`` every :data:`PUBLISH_EVERY` seconds
    until ``stop`` is set."""
    while not stop.wait(PUBLISH_EVERY):
        with contextlib.suppress(OSError):  # a full disk: the board goes stale, and says so
            board.publish(follower, snapshots, workers)
