"""A rebuild's claim on a projection: held by the process that rebuilds, for as long as it
lives, and by no one once it has died.

A claim written into a table outlives the process that wrote it: a rebuild killed half-way
left ``rebuild_set`` behind, and every later rebuild had to guess from how long it had not
moved whether its owner still lived. A claim here is a lock the operating system or the
database server takes back the moment its holder dies:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``), on a connection kept
  open for the rebuild's life; when the process dies its connection closes and the server
  releases the lock. Advisory locks belong to one database, like the projections.
- SQLite file: ``flock`` on a lock file beside the database (``<file>.rebuild-<name>.lock``);
  the kernel releases it when the process dies (or closes the file).
- SQLite in memory: a lock of this process (no other process can open the database).

A claim is tried, never waited for: a second rebuild is refused at once
(:class:`RebuildInProgress`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine

from ledger.errors import LedgerError
from ledger.messages import Message

#: the first key of every advisory lock the ledger takes (the decision's number)
ADVISORY_NAMESPACE = 6374

_in_memory: dict[tuple[int, str], threading.Lock] = {}
_in_memory_lock = threading.Lock()


class RebuildInProgress(LedgerError):
    """Another rebuild, in a process that is alive, holds the projection."""

    code = "rebuild_in_progress"
    title = Message("A rebuild is already running")


def _advisory_key(name: str) -> int:
    """A signed 32-bit key for ``name`` (PostgreSQL's two-key advisory locks take ``int``)."""
    value = zlib.crc32(f"rebuild:{name}".encode())
    return value - 2**32 if value >= 2**31 else value


class Claim:
    """The claims of one rebuild on one or more projections; release once done."""

    def __init__(self) -> None:
        self._release: list[Any] = []

    def release(self) -> None:
        while self._release:
            with contextlib.suppress(Exception):
                self._release.pop()()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def claim(engine: Engine, names: Iterable[str]) -> Claim:
    """Claim every projection of ``names`` for a rebuild, or none of them
    (:class:`RebuildInProgress` naming the first one another live rebuild holds)."""
    held = Claim()
    try:
        for name in names:
            if not _take(engine, name, held):
                raise RebuildInProgress(
                    Message(
                        "{name} is being rebuilt by another process that is running; wait for "
                        "it to finish (`ledger projections status` shows how far it is).",
                        name=name,
                    )
                )
    except BaseException:
        held.release()
        raise
    return held


def is_claimed(engine: Engine, name: str) -> bool:
    """Whether a live rebuild holds ``name`` (tried and given back at once)."""
    probe = Claim()
    try:
        return not _take(engine, name, probe)
    finally:
        probe.release()


def _take(engine: Engine, name: str, held: Claim) -> bool:
    if engine.dialect.name == "postgresql":
        return _take_advisory(engine, name, held)
    path = _sqlite_file(engine)
    if path is None:
        return _take_in_memory(engine, name, held)
    return _take_file(Path(f"{path}.rebuild-{name}.lock"), held)


def _take_advisory(engine: Engine, name: str, held: Claim) -> bool:
    connection: Connection = engine.connect()
    try:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        taken = connection.exec_driver_sql(
            f"SELECT pg_try_advisory_lock({ADVISORY_NAMESPACE}, {_advisory_key(name)})"
        ).scalar()
    except BaseException:
        connection.close()
        raise
    if not taken:
        connection.close()
        return False

    def give_back() -> None:
        try:
            connection.exec_driver_sql(
                f"SELECT pg_advisory_unlock({ADVISORY_NAMESPACE}, {_advisory_key(name)})"
            )
        finally:
            connection.close()

    held._release.append(give_back)
    return True


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    return os.path.abspath(database)


def _take_file(path: Path, held: Claim) -> bool:
    handle: IO[bytes] = open(path, "ab")  # noqa: SIM115 - closed when the claim is released
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    except BaseException:
        handle.close()
        raise
    held._release.append(handle.close)  # closing the file releases the lock
    return True


def _take_in_memory(engine: Engine, name: str, held: Claim) -> bool:
    with _in_memory_lock:
        lock = _in_memory.setdefault((id(engine), name), threading.Lock())
    if not lock.acquire(blocking=False):
        return False
    held._release.append(lock.release)
    return True


@contextlib.contextmanager
def claimed(engine: Engine, names: Iterable[str]) -> Iterator[Claim]:
    with claim(engine, names) as held:
        yield held
