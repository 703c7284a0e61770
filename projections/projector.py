"""The four paths every projection's fold is driven along.

(a) **catch-up**: from the tracking position, one batch per transaction: the read-model rows
    and the tracking row commit together, so a crash in the middle of a batch never counts an
    event twice and never loses one;
(b) **live follow**: on PostgreSQL woken by the library's subscription (LISTEN/NOTIFY), on
    SQLite by polling; each wake-up is a catch-up;
(c) **rebuild**: fold the whole log into the other table set, then make it the active one in
    the transaction that folds the last events, so readers see the old complete model until
    the new complete one replaces it;
(d) **replay**: fold the log up to a position or a recorded time, and as of a business date,
    into a throw-away SQLite database, and read it like the live one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import inspect
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from functools import singledispatchmethod
from typing import Any

from eventsourcing.utils import resolve_topic
from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.pool import StaticPool

from ledger.persistence import is_connection_lost
from ledger.service import Ledger
from projections import claims
from projections.base import SETS, Envelope, Progress, Projection
from projections.bulk import BackgroundWriter
from projections.claims import Claim
from projections.health import Worker, backoff
from projections.merkle import MerkleTree
from projections.registry import BY_NAME, PROJECTIONS, all_tables
from projections.snapshots import snapshots_for, snapshotted, sqlite_engine
from projections.source import decoder_for, read_batch, read_batches
from projections.state import ensure_rows, now, projection_state
from projections.state import metadata as state_metadata

log = logging.getLogger(__name__)
PS = projection_state


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fold runs: decoding a batch makes many
    small objects and no cycles, and the collector's passes over them cost about as much as
    the decoding itself. Reference counting still frees everything as it goes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class UnknownProjection(ValueError):
    pass


#: events folded per catch-up transaction
CATCH_UP_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    position: int
    lag: int
    last_error: str | None
    rebuilding: bool
    rebuild_position: int | None
    active_set: str


class Projector:
    """Drives the projections of one ledger into the tables of ``engine`` (its own, by default)."""

    def __init__(
        self,
        ledger: Ledger,
        engine: Engine | None = None,
        projections: Iterable[type[Projection]] = PROJECTIONS,
    ) -> None:
        self.ledger = ledger
        self.engine: Engine = engine if engine is not None else ledger.engine
        self.classes = {p.NAME: p for p in projections}
        self.metadata = all_tables()
        self.following = threading.Event()
        #: the live follower's health (:meth:`follow`), read by ``/api/health``
        self.follower = Worker("projections-follow")
        #: the replay-snapshot maker's health (:func:`keep_snapshots`), read by the same
        self.snapshot_maker = Worker("replay-snapshots")
        self._catch_up_lock = threading.Lock()
        #: projections whose catch-up failed in the follower: failures in a row, next try
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        with self._writing() as connection:
            ensure_rows(connection, list(self.classes))

    # -- helpers ---------------------------------------------------------------------------

    def select(self, name: str | None) -> list[type[Projection]]:
        if name is None:
            return list(self.classes.values())
        if name not in self.classes:
            known = ", ".join(self.classes)
            raise UnknownProjection(f"No projection named {name!r}; the projections are {known}.")
        return [self.classes[name]]

    def tables(self, cls: type[Projection], set_name: str) -> dict[str, Table]:
        return {d.name: self.metadata.tables[f"{d.name}_{set_name}"] for d in cls.TABLES}

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it also holds the ledger's in-process write lock, so
        it never meets a ledger write of this process half-way (SQLite takes one writer)."""
        with self._write_lock(), self.engine.begin() as connection:
            yield connection

    def _write_lock(self) -> Any:
        lock = getattr(getattr(self.ledger.recorder, "datastore", None), "write_lock", None)
        if self.engine is not self.ledger.engine or lock is None:
            return contextlib.nullcontext()
        return lock

    def _state(self, connection: Connection, name: str, lock: bool = False) -> dict[str, Any]:
        query = select(PS).where(PS.c.name == name)
        if lock:
            query = query.with_for_update()
        return dict(connection.execute(query).mappings().one())

    def head(self) -> int:
        return self.ledger.position()

    # -- (a) catch-up ------------------------------------------------------------------------

    def catch_up(
        self,
        name: str | None = None,
        batch_size: int = CATCH_UP_BATCH,
        progress: Progress | None = None,
        keep_going: bool = False,
    ) -> int:
        """Fold every event not yet folded; return how many events the projection furthest
        behind folded (each projection folds the same events from its own position).

        A projection whose fold fails has the error in its tracking row and raises it; with
        ``keep_going`` (the live follower) the others are caught up all the same and the
        failed one is left alone for a while (its error stays in its row), except when the
        database itself is out of reach, which is raised at once."""
        folded = 0
        with self._catch_up_lock:
            for cls in self.select(name):
                if keep_going and self._retry_at.get(cls.NAME, 0.0) > time.monotonic():
                    continue
                head, count = self.head(), 0
                try:
                    while (batch := self._paused_catch_up_batch(cls, batch_size)) > 0:
                        count += batch
                        if progress is not None:
                            progress(cls.NAME, self.position(cls.NAME), head)
                except Exception as error:
                    if not keep_going or is_connection_lost(error):
                        raise
                    failures = self._failures[cls.NAME] = self._failures.get(cls.NAME, 0) + 1
                    self._retry_at[cls.NAME] = time.monotonic() + backoff(failures)
                    continue
                self._failures.pop(cls.NAME, None)
                self._retry_at.pop(cls.NAME, None)
                folded = max(folded, count)
        return folded

    def _paused_catch_up_batch(self, cls: type[Projection], batch_size: int) -> int:
        with gc_paused():
            return self._catch_up_batch(cls, batch_size)

    def _catch_up_batch(self, cls: type[Projection], batch_size: int) -> int:
        try:
            with self._writing() as connection:
                state = self._state(connection, cls.NAME, lock=True)
                batch = read_batch(self.ledger, connection, state["position"], batch_size)
                if not batch:
                    return 0
                projection = cls(self.tables(cls, state["active_set"]))
                projection.use(connection)
                projection.fold(batch)
                projection.flush(connection)
                moved = connection.execute(
                    update(PS)
                    .where(
                        PS.c.name == cls.NAME,
                        PS.c.position == state["position"],
                        PS.c.active_set == state["active_set"],
                    )
                    .values(position=batch[-1].position, last_error=None, updated_at=now())
                ).rowcount
                if moved != 1:
                    raise _Overtaken
                return len(batch)
        except _Overtaken:
            return 1  # another follower moved first: look again
        except Exception as error:
            self._record_error(cls.NAME, error)
            raise

    def _record_error(self, name: str, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"[:2000]
        log.exception("projection %s failed", name)
        with contextlib.suppress(Exception), self._writing() as connection:
            connection.execute(
                update(PS).where(PS.c.name == name).values(last_error=message, updated_at=now())
            )

    # -- (b) live follow ---------------------------------------------------------------------

    def follow(self, stop: threading.Event, poll_interval: float = 0.2) -> None:
        """Keep every projection caught up until ``stop`` is set, whatever happens to the
        database meanwhile: a pass that fails (a connection dropped, the server restarted)
        is tried again after a wait that doubles up to :data:`~projections.health.MAX_BACKOFF`
        seconds, on fresh connections (and, on PostgreSQL, a fresh subscription), and
        catches up from the tracking rows. :attr:`follower` says how it goes; a projection
        whose own fold fails is left behind with its error (its tracking row says it), the
        others go on."""
        worker = self.follower
        worker.started(threading.current_thread())
        self.following.set()
        try:
            while not stop.is_set():
                try:
                    if self.ledger.database == "postgresql" and self.engine is self.ledger.engine:
                        self._follow_notifications(stop)
                    else:
                        self._follow_polling(stop, poll_interval)
                except Exception as error:  # noqa: BLE001 - every fault is waited out
                    wait = worker.failed(error)
                    log.warning("the live projections failed (%s); again in %.2f s", error, wait)
                    stop.wait(wait)
            worker.stopped()
        finally:
            self.following.clear()

    def _follow_pass(self) -> None:
        self.catch_up(keep_going=True)
        self.follower.succeeded()

    def _follow_polling(self, stop: threading.Event, poll_interval: float) -> None:
        while not stop.is_set():
            self._follow_pass()
            stop.wait(poll_interval)

    def _follow_notifications(self, stop: threading.Event) -> None:
        """Catch up, then again at each notification of new events. A notification is lost
        only with the connection that listens, which ends the subscription with an error:
        :meth:`follow` then subscribes again, and catches up first."""
        self._follow_pass()
        reached = min(self.position(n) for n in self.classes)
        subscription = self.ledger.recorder.subscribe(gt=reached)
        ended = threading.Event()

        def stop_subscription() -> None:
            while not stop.wait(0.5):
                if ended.is_set():
                    return
            subscription.stop()

        stopper = threading.Thread(target=stop_subscription, daemon=True, name="follow-stop")
        stopper.start()
        try:
            with subscription:
                for notification in subscription:
                    if stop.is_set():
                        break
                    if notification.id > reached:
                        self._follow_pass()
                        reached = max(reached, min(self.position(n) for n in self.classes))
        finally:
            ended.set()

    def wait_for(self, name: str, position: int, timeout: float = 2.0) -> int:
        """Wait until ``name`` has folded ``position``; return the position it reached.

        Without a live follower in this process, catch up here instead of waiting."""
        deadline = time.monotonic() + timeout
        reached = self.position(name)
        while reached < position and time.monotonic() < deadline:
            if self.following.is_set():
                time.sleep(0.02)
            else:
                self.catch_up(name)
            reached = self.position(name)
        return reached

    # -- (c) rebuild -------------------------------------------------------------------------

    def claim_rebuild(self, name: str | None = None) -> Claim:
        """Claim the selected projections (all by default) for a rebuild by this process, or
        refuse (:class:`~projections.claims.RebuildInProgress`) if a live rebuild holds one;
        see :mod:`projections.claims`. Give the claim to :meth:`rebuild`, which releases it."""
        return claims.claim(self.engine, [cls.NAME for cls in self.select(name)])

    def rebuild(
        self,
        name: str | None = None,
        batch_size: int = 10_000,
        progress: Progress | None = None,
        claim: Claim | None = None,
    ) -> int:
        """Rebuild the selected projections (all by default), holding their claim (``claim``,
        else taken here) until done; see :meth:`_rebuild`."""
        with claim or self.claim_rebuild(name), gc_paused():
            return self._rebuild(name, batch_size, progress)

    def _rebuild(self, name: str | None, batch_size: int, progress: Progress | None) -> int:
        """Rebuild the selected projections (all by default) into their other table sets,
        reading the log once for all of them, then switch each one's readers; return how
        many events were read. The caller holds their claim: a rebuild set left in a
        tracking row is a dead rebuild's, and its half-built tables are emptied here."""
        classes = self.select(name)
        targets: dict[str, str] = {}
        with self._writing() as connection:
            for cls in classes:
                state = self._state(connection, cls.NAME, lock=True)
                targets[cls.NAME] = SETS[1 - SETS.index(state["active_set"])]
                connection.execute(
                    update(PS)
                    .where(PS.c.name == cls.NAME)
                    .values(rebuild_set=targets[cls.NAME], rebuild_position=0, updated_at=now())
                )
                self._empty(connection, self.tables(cls, targets[cls.NAME]).values())
        folds = [cls(self.tables(cls, targets[cls.NAME]), rebuilding=True) for cls in classes]
        names = [cls.NAME for cls in classes]
        position, folded, head = 0, 0, self.head()
        try:
            with BackgroundWriter.running(self.engine, self._write_lock()) as writer:
                while True:
                    with self.engine.connect() as reader:
                        batch = read_batch(self.ledger, reader, position, batch_size)
                    if len(batch) < batch_size:
                        break  # folded with what came after it, in the switching transaction
                    rows = []
                    for projection in folds:  # keyed rows stay in memory until the end
                        projection.fold(batch)
                        rows.extend(projection.drain(keyed=False))
                    position, folded = batch[-1].position, folded + len(batch)
                    writer.put(rows, self._rebuilt_upto(names, position))
                    if progress is not None:
                        progress(name or "every projection", position, head)
                # each keyed row once, then wait until everything is written
                writer.put([rows for p in folds for rows in p.drain(keyed=True)])
            with self._writing() as connection:
                for cls in classes:
                    self._state(connection, cls.NAME, lock=True)
                last = batch[-1].position if batch else position
                rest = [batch, *read_batches(self.ledger, connection, last, batch_size)]
                for part in rest:
                    if not part:
                        continue
                    for projection in folds:
                        self._fold_into(projection, connection, part)
                    position, folded = part[-1].position, folded + len(part)
                for cls in classes:
                    connection.execute(
                        update(PS).where(PS.c.name == cls.NAME).values(
                            active_set=targets[cls.NAME], position=position, rebuild_set=None,
                            rebuild_position=None, last_error=None, updated_at=now(),
                        )
                    )  # fmt: skip
        except Exception as error:
            for cls in classes:
                self._record_error(cls.NAME, error)
            with contextlib.suppress(Exception), self._writing() as connection:
                connection.execute(
                    update(PS).where(PS.c.name.in_(names))
                    .values(rebuild_set=None, rebuild_position=None)
                )  # fmt: skip
            raise
        if progress is not None:
            progress(name or "every projection", position, position)
        return folded

    @staticmethod
    def _empty(connection: Connection, tables: Iterable[Table]) -> None:
        """Empty a rebuild's target tables. On PostgreSQL with TRUNCATE: after a DELETE the
        dead rows stay until a vacuum, and every new row's key check visits them (the fold
        then writes several times slower). TRUNCATE is not MVCC-safe: a transaction whose
        snapshot is older would see these tables empty. So ``reading`` locks both sets of
        its projection before its snapshot is taken, and TRUNCATE waits for those reads to
        end (readers' transactions last one request)."""
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"TRUNCATE {_quoted(tables)}")
        else:
            for table in tables:
                connection.execute(delete(table))

    @staticmethod
    def _rebuilt_upto(names: list[str], position: int) -> Callable[[Connection], None]:
        def record(connection: Connection) -> None:
            connection.execute(
                update(PS).where(PS.c.name.in_(names))
                .values(rebuild_position=position, updated_at=now())
            )  # fmt: skip

        return record

    @staticmethod
    def _fold_into(
        projection: Projection, connection: Connection, batch: list[Envelope], keyed: bool = True
    ) -> None:
        projection.use(connection)
        projection.fold(batch)
        projection.flush(connection, keyed)

    # -- reading -----------------------------------------------------------------------------

    def position(self, name: str) -> int:
        with self.engine.connect() as connection:
            return int(self._state(connection, name)["position"])

    @contextlib.contextmanager
    def reading(self, name: str) -> Iterator[tuple[Connection, dict[str, Table], int]]:
        """A consistent read of the active set: (connection, tables, position it reflects)."""
        [cls] = self.select(name)
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                if self.engine.dialect.name == "postgresql":
                    # before the snapshot is taken, so that no rebuild empties either set
                    # under this read (TRUNCATE waits for it; see ``_empty``)
                    both = [t for s in SETS for t in self.tables(cls, s).values()]
                    connection.exec_driver_sql(f"LOCK TABLE {_quoted(both)} IN ACCESS SHARE MODE")
                if self.engine.dialect.name == "sqlite":
                    # pysqlite sends no BEGIN before a SELECT: without one each statement
                    # would read its own moment, not one snapshot (WAL keeps writers going)
                    connection.exec_driver_sql("BEGIN")
                state = self._state(connection, name)
                yield connection, self.tables(cls, state["active_set"]), int(state["position"])

    def snapshot(self, name: str) -> tuple[int, dict[str, list[dict[str, Any]]]]:
        """Every row of every table of ``name``'s active set, in key order, with the position
        they reflect: for comparing the paths (catch-up, rebuild, replay) with each other.
        Rows are ordered here, not by the database, whose collations differ."""
        [cls] = self.select(name)
        with self.reading(name) as (connection, tables, position):
            content = {}
            for table_def in cls.TABLES:
                rows = connection.execute(select(tables[table_def.name])).mappings()
                keys = table_def.key

                def order(row: dict[str, Any], keys: tuple[str, ...] = keys) -> tuple[Any, ...]:
                    if not keys:
                        return tuple(str(value) for value in row.values())
                    return tuple((row[k] is None, row[k]) for k in keys)

                content[table_def.name] = sorted((dict(r) for r in rows), key=order)
        return position, content

    def status(self) -> list[Status]:
        """Each projection's position, lag and last error; ``rebuilding`` only while a live
        process holds its rebuild claim (a dead rebuild's leftovers are not one)."""
        head = self.head()
        with self.engine.connect() as connection:
            rows = {r["name"]: r for r in connection.execute(select(PS)).mappings()}
        found = []
        for name in self.classes:
            row = rows[name]
            rebuilding = row["rebuild_set"] is not None and claims.is_claimed(self.engine, name)
            found.append(
                Status(
                    name=name, position=row["position"], lag=max(0, head - row["position"]),
                    last_error=row["last_error"], rebuilding=rebuilding,
                    rebuild_position=row["rebuild_position"] if rebuilding else None,
                    active_set=row["active_set"],
                )
            )  # fmt: skip
        return found


def _quoted(tables: Iterable[Table]) -> str:
    return ", ".join(f'"{table.name}"' for table in tables)


class _Overtaken(Exception):
    """Another follower folded this batch first."""


# -- (d) replay ------------------------------------------------------------------------------
#
# A replay folds the log into a throw-away SQLite store with the live projections'
# own code (``rebuilding=True``: keyed rows stay in memory and are written once, at the end).
# Two axes choose the events: *as known at* a position or a recorded time (a prefix of the
# log, whole commands only) and *as of* a business date (the events effective by then).
#
# It reads as little as it can: a recorded time is first turned into a position with one
# query that looks at the first bytes of each stored state (the library writes the recorded
# time first), so the fold itself only reads up to a position; and only the events some
# selected projection folds are decoded (the others are skipped by their topic).

#: how the library writes the start of every stored state: the recorded time comes first
STATE_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
_UTC_END = b'+00:00"'
_STAMP = 32  # len("2026-11-25T10:00:00.123456+00:00")

#: stands for an event no selected projection folds: left undecoded, then dropped
SKIPPED = object()


def replay(
    ledger: Ledger,
    *,
    upto_position: int | None = None,
    known_at: dt.datetime | None = None,
    as_of: dt.date | None = None,
    names: Iterable[str] | None = None,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    snapshots: bool = True,
) -> Projector:
    """The projections as they stood: folded from the log into a throw-away store.

    ``upto_position`` keeps the events up to that position (inclusive, exactly);
    ``known_at`` (an aware time) those recorded by then, whole commands only (see
    :func:`position_known_at`); ``as_of`` those effective by that date, and of a record whose
    first event is effective later, none (its later events build on that one). A projection
    that folds the log itself rather than events one by one (its own ``fold``, like the
    Merkle tree) gets every event: business dates do not apply to it. Every projection's
    position is the last position of the log read. Read the answer with the returned
    projector's ``reading`` like the live one; dispose of its ``engine`` when done.

    Without ``as_of``, and with ``snapshots`` (the default), the fold starts from the
    nearest replay snapshot at or before the position (:mod:`projections.snapshots`),
    making the missing ones first; ``snapshots=False`` folds every event from the first."""
    classes = [BY_NAME[n] for n in names] if names is not None else list(PROJECTIONS)
    upto = ledger.position()
    if upto_position is not None:
        upto = max(0, min(upto, upto_position))
    if known_at is not None:
        upto = position_known_at(ledger, known_at, upto)
    kept = snapshots_for(ledger, classes) if snapshots and as_of is None else None
    start = kept.prepare(ledger, upto, _live_root(ledger), progress) if kept else 0
    engine = _throwaway_store(classes)
    try:
        if start and kept is not None and not kept.restore(engine, classes, start):
            start = 0
        past = _replay_into(engine, ledger, classes, upto, as_of, batch_size, progress, start)
        if start and kept is not None:
            with engine.begin() as connection:
                kept.join(connection, classes, start)
        return past
    except BaseException:
        engine.dispose()
        raise


def prepare_snapshots(
    ledger: Ledger, progress: Progress | None = None, stop: threading.Event | None = None
) -> int:
    """Make the replay snapshots up to the head of the log that are missing (until ``stop``
    is set); answer the position of the last one (0: none, or snapshots turned off)."""
    kept = snapshots_for(ledger, snapshotted())
    if kept is None:
        return 0
    return kept.prepare(ledger, ledger.position(), _live_root(ledger), progress, stop=stop)


def keep_snapshots(
    ledger: Ledger, stop: threading.Event, interval: float = 5.0, worker: Worker | None = None
) -> None:
    """Make the replay snapshots as the log grows, until ``stop`` is set (what a server runs
    beside its live projections, so that past views rarely wait for one to be made). A pass
    that fails is logged and tried again after a wait that doubles up to
    :data:`~projections.health.MAX_BACKOFF` seconds (at least ``interval``); ``worker``
    says how it goes."""
    worker = worker or Worker("replay-snapshots")
    worker.started(threading.current_thread())
    while not stop.is_set():
        try:
            prepare_snapshots(ledger, stop=stop)
        except Exception as error:  # noqa: BLE001 - logged; tried again after a wait
            log.warning("replay snapshots could not be made: %s", error)
            stop.wait(max(interval, worker.failed(error)))
            continue
        worker.succeeded()
        stop.wait(interval)
    worker.stopped()


def _live_root(ledger: Ledger) -> Callable[[int], bytes | None]:
    """The root of the log's first ``size`` events by the live Merkle tree
    (:func:`projections.checkpoints.root_at`), its projector made when first asked."""
    from projections.checkpoints import root_at

    @functools.cache
    def live() -> Projector:
        return Projector(ledger, projections=[MerkleTree])

    return lambda size: root_at(live(), size)


def _replay_into(
    engine: Engine,
    ledger: Ledger,
    classes: list[type[Projection]],
    upto: int,
    as_of: dt.date | None,
    batch_size: int,
    progress: Progress | None,
    start: int = 0,
) -> Projector:
    """Fold the events after ``start`` up to ``upto`` into ``engine``'s store.

    From the first event (``start`` 0, an empty store) the fold goes as a rebuild's: keyed
    rows stay in memory and are written once, at the end. After a snapshot copied into the
    store, it goes as the live catch-up's: each batch reads the rows it touches from the
    store and writes them back (few rows, against the many a snapshot holds)."""
    projector = Projector(ledger, engine=engine, projections=classes)
    projector.metadata = _replay_metadata()
    rebuilding = not start
    folds = [(cls, projector.tables(cls, "a"), _folds_the_log(cls)) for cls in classes]
    kept_in_memory = {cls: cls(tables, rebuilding=True) for cls, tables, _ in folds if rebuilding}
    chooser = _Chooser(decoder_for(ledger), classes, as_of)
    decoder: Any = chooser  # read_batch calls its ``event``, as an EventDecoder's
    label = ", ".join(cls.NAME for cls in classes)
    with gc_paused(), ledger.engine.connect() as source, engine.begin() as target:
        after = start
        while after < upto:
            batch = read_batch(ledger, source, after, batch_size, upto, decoder)
            if not batch:
                break
            after = batch[-1].position
            every, dated = chooser.choose(batch)
            for cls, tables, whole_log in folds:
                projection = kept_in_memory[cls] if rebuilding else cls(tables)
                Projector._fold_into(projection, target, every if whole_log else dated, start > 0)
            if progress is not None:
                progress(label, after, upto)
        if rebuilding:  # each keyed row once
            for projection in kept_in_memory.values():
                projection.flush(target)
        target.execute(update(PS).values(position=upto, updated_at=now()))
    if progress is not None:
        progress(label, upto, upto)
    return projector


def _folds_the_log(cls: type[Projection]) -> bool:
    """Whether ``cls`` folds the stored log itself (its own ``fold``) rather than events."""
    return cls.fold is not Projection.fold


def _folds(cls: type[Projection], event_type: type) -> bool:
    """Whether ``cls`` may fold ``event_type``: it has a registered method for it, or its
    method for any event does something (only one with nothing but a docstring or ``pass``
    is taken to ignore the events it gets)."""
    method = inspect.getattr_static(cls, "process_event")
    if not isinstance(method, singledispatchmethod):
        return True
    handler = method.dispatcher.dispatch(event_type)
    if handler is not method.dispatcher.dispatch(object):
        return True
    code = getattr(handler, "__code__", None)
    return code is None or code.co_code != _ignores.__code__.co_code


def _ignores(self: Any, event: Any, position: int) -> None:
    """Nothing: what a projection's method for the events it does not fold looks like."""


class _Chooser:
    """A decoder for :func:`read_batch` that decodes only the events a selected projection
    folds (or, ``as_of`` given, that begin a record), and chooses a batch's events."""

    def __init__(self, decoder: Any, classes: list[type[Projection]], as_of: dt.date | None):
        self._decode = decoder.event
        self._everything = any(_folds_the_log(cls) for cls in classes)
        self._classes = [cls for cls in classes if not _folds_the_log(cls)]
        self._wanted: dict[str, bool] = {}
        self.skipping = False
        self.as_of = as_of
        #: records whose first event is effective after ``as_of``: all their events are out
        self.left_out: set[Any] = set()

    def _wants(self, topic: str) -> bool:
        if self._everything:
            return True
        try:
            event_type = resolve_topic(topic)
        except Exception:  # noqa: BLE001 - decoding it says what is wrong
            return True
        return any(_folds(cls, event_type) for cls in self._classes)

    def event(self, originator_id: Any, version: int, topic: str, state: Any) -> Any:
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = self._wants(topic)
        if not wanted and (self.as_of is None or version != 1):
            self.skipping = True
            return SKIPPED
        return self._decode(originator_id, version, topic, state)

    def choose(self, batch: list[Envelope]) -> tuple[list[Envelope], list[Envelope]]:
        """The batch's decoded events, and of those the ones effective by ``as_of``."""
        every = [e for e in batch if e.event is not SKIPPED] if self.skipping else batch
        self.skipping = False
        as_of = self.as_of
        if as_of is None:
            return every, every
        dated, left_out = [], self.left_out
        for envelope in every:
            if envelope.stored is None:
                continue  # a recorded hole: no event, no date (the tree has it in ``every``)
            event = envelope.event
            effective = getattr(event, "effective_date", None)
            if event.originator_id in left_out:
                continue
            if effective is not None and effective > as_of:
                if event.originator_version == 1:
                    left_out.add(event.originator_id)
                continue
            dated.append(envelope)
        return every, dated


@functools.cache
def _replay_metadata() -> MetaData:
    """One set of table objects for every replay store (the bulk writers keep a compiled
    statement per table object: new objects per replay would pile them up)."""
    return all_tables()


#: pages of a replay store kept in memory; the rest are in its temporary file
STORE_CACHE_KIB = 64 * 1024


def _private_database() -> sqlite3.Connection:
    """A private temporary SQLite database: on disk (SQLite's temporary directory) beyond
    its page cache, deleted when closed; usable by any thread (one at a time)."""
    return sqlite3.connect("", check_same_thread=False)


def _throwaway_store(classes: Iterable[type[Projection]]) -> Engine:
    """A new private temporary SQLite database with the set-``a`` tables of ``classes`` and
    the tracking table: a large log's replay does not have to fit in memory (its pages
    beyond :data:`STORE_CACHE_KIB` go to a file the OS caches), no journal (it is thrown
    away, never rolled back), JSON by ``orjson``, one connection (see :class:`ReplayCache`
    for readers in several threads)."""
    engine = sqlite_engine(
        "sqlite://",
        ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{STORE_CACHE_KIB}"),
        poolclass=StaticPool, creator=_private_database,
    )  # fmt: skip

    metadata = _replay_metadata()
    tables = [metadata.tables[f"{d.name}_a"] for cls in classes for d in cls.TABLES]
    metadata.create_all(engine, tables=tables)
    state_metadata.create_all(engine)
    return engine


def position_known_at(ledger: Ledger, known_at: dt.datetime, upto: int | None = None) -> int:
    """The last position known at ``known_at`` (an aware time): the log up to the first event
    recorded later that begins a new command, so the rest of a command begun by then is in
    it (its events are one transaction: no reader ever saw half of one). ``upto`` (default:
    the head) bounds it."""
    return known_at_cut(ledger, known_at, upto)[0]


def known_at_cut(
    ledger: Ledger, known_at: dt.datetime, upto: int | None = None
) -> tuple[int, bool]:
    """:func:`position_known_at`, and whether an event recorded later follows it (then no
    event appended to the log from now on changes the answer).

    One query finds the first event whose stored state says it was recorded after
    ``known_at`` (comparing the recorded time's bytes where the state starts as the library
    writes it in UTC, and taking any other state as a candidate); the events from there are
    decoded and the cut checked exactly, on to the next candidate if it was not one."""
    if known_at.tzinfo is None or known_at.utcoffset() is None:
        raise ValueError("known_at needs a time zone (UTC: tzinfo=datetime.UTC)")
    moment = known_at.astimezone(dt.UTC)
    stamp = moment.isoformat(timespec="microseconds").encode()
    assert len(stamp) == _STAMP
    limit = ledger.position() if upto is None else upto
    after, last_command, size = 0, None, 16
    with ledger.engine.connect() as connection:
        while after < limit:
            candidate = _first_recorded_after(ledger, connection, stamp, after, limit)
            if candidate is None:
                return limit, False
            start = max(after, candidate - 2)  # from the event before it, whose command counts
            batch = read_batch(ledger, connection, start, size, limit)
            if not batch:
                return limit, False
            known, last_command, ended = _known_by(batch, moment, last_command)
            if ended:
                return (known[-1].position if known else start), True
            after, size = batch[-1].position, min(size * 2, 10_000)
    return limit, False


def _first_recorded_after(
    ledger: Ledger, connection: Connection, stamp: bytes, after: int, upto: int
) -> int | None:
    """The first position after ``after`` (up to ``upto``) whose event may have been recorded
    after ``stamp``: its state's recorded time is later, or not where and as expected."""
    t = ledger.events_table
    state: Any = t.c.state
    if connection.dialect.name == "sqlite":
        state = cast(state, LargeBinary)  # compared as bytes, whatever the column holds

    def part(start: int, length: int) -> Any:
        return func.substr(state, start, length)

    n = len(STATE_PREFIX)
    candidate = or_(
        part(1, n) != literal(STATE_PREFIX, LargeBinary),
        part(n + 1, _STAMP) > literal(stamp, LargeBinary),  # without microseconds: '+' < '.'
        and_(
            part(n + _STAMP - 5, len(_UTC_END)) != literal(_UTC_END, LargeBinary),
            part(n + _STAMP - 12, len(_UTC_END)) != literal(_UTC_END, LargeBinary),
        ),
    )
    query = (
        select(t.c.id).where(t.c.id > after, t.c.id <= upto, candidate).order_by(t.c.id).limit(1)
    )
    found = connection.execute(query).scalar()
    return None if found is None else int(found)


def whole_command_end(ledger: Ledger, position: int) -> int:
    """``position``, or the position of the last event of the command it is part of (a
    command's events are one transaction, adjacent in the log)."""
    if position < 1:
        return max(position, 0)
    with ledger.engine.connect() as connection:
        batch = read_batch(ledger, connection, position - 1, 16)
        if not batch:
            return position
        if batch[0].stored is None:
            return position  # a recorded hole: no command
        command, end = batch[0].event.command_id, position
        while batch:
            for envelope in batch:
                if envelope.stored is None or envelope.event.command_id != command:
                    return end
                end = envelope.position
            batch = read_batch(ledger, connection, end, 16)
        return end


def _known_by(
    batch: list[Envelope], known_at: dt.datetime, last_command: Any
) -> tuple[list[Envelope], Any, bool]:
    """The prefix of ``batch`` known at ``known_at``: events recorded by then, and the rest of
    the last command begun by then (a command's events are one transaction, adjacent in the
    log). Returns the prefix, the last command seen and whether the log ends there for us."""
    for index, envelope in enumerate(batch):
        if envelope.stored is None:
            continue  # a recorded hole: recorded at no time of the log's own
        event = envelope.event
        if event.timestamp > known_at and event.command_id != last_command:
            return batch[:index], last_command, True
        last_command = event.command_id
    return batch, last_command, False


# -- a cache of finished replays -------------------------------------------------------------


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
        """:func:`position_known_at`, remembered when it can no longer change."""
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
        (connection, tables, position), as :meth:`Projector.reading`."""
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
