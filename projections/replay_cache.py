"""The replay cache: finished replays (:mod:`projections.replay`) kept to be read again.

The log is append-only, so a replay of (projection, last position, as-of date) never
changes: the HTTP reports' past views read one replay many times.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table

from ledger.service import Ledger
from projections.replay import known_at_cut, replay


@dataclass(slots=True)
class _Replayed:
    """One finished replay: its store, its tables, the position it reflects."""

    engine: Engine
    tables: dict[str, Table]
    position: int
    size: int
    lock: threading.Lock
    users: int = 0
    evicted: bool = False


ReplayKey = tuple[str, int, dt.date | None]


class ReplayCache:
    """Finished replays of one projection each, kept to be read again: the log is append-only,
    so a replay of (projection, last position, as-of date) never changes. One cache per
    ledger; thread-safe.

    At most ``max_entries`` replays are kept, least recently used out first, and fewer when
    their stores pass ``max_bytes`` together (the newest is always kept). An evicted store's
    engine is disposed of once no reader uses it. Readers that ask at once for a view not
    yet replayed wait for one replay. Recorded times resolved to a position are kept too
    (when a later event follows, since no appended event changes them then)."""

    def __init__(
        self, max_entries: int = 4, max_bytes: int = 256 * 2**20, max_times: int = 256
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_times = max_times
        #: how many replays this cache has made
        self.replays = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[ReplayKey, _Replayed] = OrderedDict()
        self._pending: dict[ReplayKey, Future[None]] = {}
        self._times: OrderedDict[dt.datetime, int] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def position_known_at(self, ledger: Ledger, known_at: dt.datetime) -> int:
        """:func:`projections.replay.position_known_at`, remembered when it can no longer change."""
        with self._lock:
            found = self._times.get(known_at)
            if found is not None:
                self._times.move_to_end(known_at)
                return found
        position, final = known_at_cut(ledger, known_at)
        if final:
            with self._lock:
                self._times[known_at] = position
                while len(self._times) > self.max_times:
                    self._times.popitem(last=False)
        return position

    @contextlib.contextmanager
    def reading(
        self, ledger: Ledger, name: str, position: int, as_of: dt.date | None = None
    ) -> Iterator[tuple[Connection, dict[str, Table], int]]:
        """Read projection ``name`` replayed up to ``position`` (exactly) and as of ``as_of``:
        (connection, tables, position), as
        :meth:`projections.projector.Projector.reading`."""
        entry = self._lease(ledger, (name, position, as_of))
        try:
            with entry.lock, entry.engine.connect() as connection:
                yield connection, entry.tables, entry.position
        finally:
            self._release(entry)

    def clear(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
            self._times.clear()
            for entry in entries:
                entry.evicted = True
        for entry in entries:
            self._dispose_if_unused(entry)

    def _lease(self, ledger: Ledger, key: ReplayKey) -> _Replayed:
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:
                    self._entries.move_to_end(key)
                    entry.users += 1
                    return entry
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = Future()
                    break
            pending.result()  # another reader replays it: wait, then look again
        try:
            entry = self._replay(ledger, key)
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._pending[key]
            self.replays += 1
            entry.users += 1
            self._entries[key] = entry
            evicted = self._trim()
        pending.set_result(None)
        for old in evicted:
            self._dispose_if_unused(old)
        return entry

    @staticmethod
    def _replay(ledger: Ledger, key: ReplayKey) -> _Replayed:
        name, position, as_of = key
        projector = replay(ledger, upto_position=position, as_of=as_of, names=[name])
        engine = projector.engine
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
            page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        tables = projector.tables(projector.classes[name], "a")
        reached = projector.position(name)
        return _Replayed(engine, tables, reached, int(pages) * int(page_size), threading.Lock())

    def _trim(self) -> list[_Replayed]:
        """Evict the least recently used entries beyond the bounds (under the lock)."""
        evicted = []
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries
            or sum(e.size for e in self._entries.values()) > self.max_bytes
        ):
            _, entry = self._entries.popitem(last=False)
            entry.evicted = True
            evicted.append(entry)
        return evicted

    def _release(self, entry: _Replayed) -> None:
        with self._lock:
            entry.users -= 1
        self._dispose_if_unused(entry)

    def _dispose_if_unused(self, entry: _Replayed) -> None:
        with self._lock:
            if not entry.evicted or entry.users > 0:
                return
            entry.users = -1  # disposed: never twice
        entry.engine.dispose()
