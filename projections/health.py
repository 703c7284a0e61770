"""How the background work of a server is doing: the live follower and the replay-snapshot
maker, each a thread that must survive the faults it meets (a dropped connection, a database
restarted) by trying again with a growing wait, and say so.

A :class:`Worker` is the one place a thread records what it is doing; ``/api/health`` and
``/api/health/ready`` read it. Its states:

- ``off``: not started in this process (a server runs both; tests and commands may not);
- ``running``: its last pass succeeded;
- ``retrying``: its last pass failed (``last_error`` says why); it waits ``retry_in``
  seconds, then tries again, and is ``running`` again once a pass succeeds;
- ``stopped``: stopped on purpose (the server is shutting down);
- ``dead``: its thread ended without being stopped (a fault it could not survive).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
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
            }
