"""Writing many projection rows fast: the rebuild's writer thread.

The rows themselves are written by :mod:`ledger.bulk_rows` (COPY on PostgreSQL,
``executemany`` on SQLite), which the import of an event-log file shares. ``BackgroundWriter``
lets a rebuild go on folding while the database takes the rows of the previous batches: on
PostgreSQL a thread with its own connection writes them (the server's work runs beside the
fold, on another core), committing each batch's rows with the rebuild's progress; on SQLite,
which takes one writer at a time, it writes them at once in the caller's thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine, Table

from ledger.bulk_rows import COPY_AT_LEAST, NULL, Row, copy_rows, executemany_rows, insert_rows

__all__ = [
    "COPY_AT_LEAST",
    "NULL",
    "BackgroundWriter",
    "Row",
    "copy_rows",
    "executemany_rows",
    "insert_rows",
]

Work = tuple[list[tuple[Table, list[Row]]], Callable[[Connection], None] | None]


class BackgroundWriter:
    """Rows written beside the fold: ``put`` hands over rows (and what else to do in the
    same transaction); ``close`` waits until every one is committed and re-raises the first
    failure. Use it as a context manager."""

    def __init__(
        self, engine: Engine, lock: Any = None, depth: int = 3, threaded: bool | None = None
    ) -> None:
        self.engine = engine
        #: PostgreSQL by default; SQLite only where no other thread of the process writes
        #: (a rebuild's worker process, whose writes wait for the other workers' lock)
        self.threaded = engine.dialect.name == "postgresql" if threaded is None else threaded
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self._queue: queue.Queue[Work | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self.threaded:
            self._thread = threading.Thread(target=self._run, name="rebuild-writer", daemon=True)
            self._thread.start()

    def put(
        self, rows: list[tuple[Table, list[Row]]], also: Callable[[Connection], None] | None = None
    ) -> None:
        """Write ``rows`` (table, rows) and run ``also`` in one transaction."""
        self._raise()
        if not self.threaded:
            self._write((rows, also))
            return
        while True:  # wait for room, but not forever if the thread has died
            try:
                self._queue.put((rows, also), timeout=1.0)
                return
            except queue.Full:
                self._raise()

    def _write(self, work: Work) -> None:
        rows, also = work
        with self._lock, self.engine.begin() as connection:
            for table, items in rows:
                insert_rows(connection, table, items)
            if also is not None:
                also(connection)

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(work)
                except BaseException as error:  # handed to the folding thread
                    self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def abandon(self) -> None:
        """Stop without raising (the caller is already failing)."""
        if self._thread is not None:
            with contextlib.suppress(BaseException):
                self._queue.put(None, timeout=60)
                self._thread.join(timeout=60)
            self._thread = None

    @classmethod
    @contextlib.contextmanager
    def running(
        cls, engine: Engine, lock: Any = None, threaded: bool | None = None
    ) -> Iterator[BackgroundWriter]:
        writer = cls(engine, lock, threaded=threaded)
        try:
            yield writer
        except BaseException:
            writer.abandon()
            raise
        writer.close()
