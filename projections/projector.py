"""The projector: drives every projection's fold along the live paths.

(a) **catch-up**: from the tracking position, one batch per transaction: the read-model rows
    and the tracking row commit together, so a crash in the middle of a batch never counts an
    event twice and never loses one;
(b) **live follow**: on PostgreSQL woken by the library's subscription (LISTEN/NOTIFY), on
    SQLite by polling; each wake-up is a catch-up. One process of a server follows
    (``projections/background.py``); the other processes of ``ledger serve --workers N``
    mark their database as folded elsewhere (:func:`fold_elsewhere`), and their projectors
    then never fold: a reader that needs a position waits for the tracking row to reach it;
(c) **rebuild**: fold the whole log into the other table set, then make it the active one in
    the transaction that folds the last events, so readers see the old complete model until
    the new complete one replaces it; in this process, or by worker processes
    (``workers`` > 1, :mod:`projections.parallel`) while this one holds the claims and
    switches.

The fourth path, **replay** (the log up to a position or a recorded time, and as of a
business date, folded into a throw-away store), is :mod:`projections.replay`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update

from ledger.messages import Message
from ledger.persistence import is_connection_lost
from ledger.service import Ledger
from projections import claims, parallel
from projections.base import SETS, Envelope, Progress, Projection
from projections.bulk import BackgroundWriter
from projections.claims import Claim
from projections.folding import fold_into, gc_paused
from projections.health import Worker, backoff
from projections.registry import PROJECTIONS, all_tables
from projections.source import read_batch, read_batches
from projections.state import ensure_rows, now, projection_state

log = logging.getLogger(__name__)
PS = projection_state


class UnknownProjection(ValueError):
    pass


#: events folded per catch-up transaction
CATCH_UP_BATCH = 2000
#: how often a reader looks at the tracking rows while it waits for a follower (seconds)
POLL_INTERVAL = 0.02
#: how long a projector whose projections another process folds waits for that follower
#: to move before a catch-up gives up (seconds)
FOLLOWER_PATIENCE = 10.0

#: the engines of this process whose live projections another process folds
_FOLDED_ELSEWHERE: weakref.WeakSet[Engine] = weakref.WeakSet()


def fold_elsewhere(engine: Engine) -> None:
    """Say that another process folds the live projections of ``engine``'s database (an
    HTTP worker of ``ledger serve --workers N``: its supervisor runs the one live follower).
    Every projector of this process on that engine then leaves the tracking rows alone:
    :meth:`Projector.catch_up` and :meth:`Projector.wait_for` wait for that follower
    instead of folding. Projectors on other engines (a replay's throw-away store) fold as
    before."""
    _FOLDED_ELSEWHERE.add(engine)


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
        #: the replay-snapshot maker's health (:func:`projections.replay.keep_snapshots`), read
        #: by the same
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
            raise UnknownProjection(
                Message(
                    "No projection named {name!r}; the projections are {known}.",
                    name=name,
                    known=known,
                )
            )
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

    @property
    def folded_elsewhere(self) -> bool:
        """Whether another process folds this projector's projections (:func:`fold_elsewhere`)."""
        return self.engine in _FOLDED_ELSEWHERE

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
        database itself is out of reach, which is raised at once.

        Where another process folds (:attr:`folded_elsewhere`), fold nothing: wait until its
        follower has folded the log as far as its head now, or has not moved for
        :data:`FOLLOWER_PATIENCE` seconds; return 0."""
        if self.folded_elsewhere:
            self._await_follower(tuple(cls.NAME for cls in self.select(name)), self.head())
            return 0
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

        The wait looks at the tracking row (the database says how far the follower has
        folded, in this process or another). Without a live follower anywhere (none in this
        process, and this process is no worker of a server whose follower runs elsewhere),
        catch up here instead of waiting."""
        deadline = time.monotonic() + timeout
        reached = self.position(name)
        while reached < position and time.monotonic() < deadline:
            if self.following.is_set() or self.folded_elsewhere:
                time.sleep(POLL_INTERVAL)
            else:
                self.catch_up(name)
            reached = self.position(name)
        return reached

    def _await_follower(self, names: tuple[str, ...], position: int) -> None:
        """Wait until every projection of ``names`` has folded ``position``, or none has
        moved for :data:`FOLLOWER_PATIENCE` seconds (its follower is stopped, or a fold of
        it fails: its tracking row says so)."""
        last: tuple[int, ...] = ()
        moved_at = time.monotonic()
        while True:
            reached = self.positions(names)
            if min(reached) >= position:
                return
            if reached != last:
                last, moved_at = reached, time.monotonic()
            elif time.monotonic() - moved_at > FOLLOWER_PATIENCE:
                return
            time.sleep(POLL_INTERVAL)

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
        workers: int = 1,
    ) -> int:
        """Rebuild the selected projections (all by default) into their other table sets,
        then switch each one's readers; return how many events were read. Holds their claim
        (``claim``, else taken here) until done: a rebuild set left in a tracking row is a
        dead rebuild's, and its half-built tables are emptied first. ``workers`` > 1 folds
        them in that many worker processes (:mod:`projections.parallel`) where the plan has
        work for more than one and they can open the database (not an SQLite database in
        memory). A failure is recorded on each projection and no reader is switched."""
        with claim or self.claim_rebuild(name), gc_paused():
            classes = self.select(name)
            tasks = parallel.plan(classes, workers, self.head())
            label = name or "every projection"
            targets = self._start_rebuild(classes)
            try:
                if len(tasks) > 1 and parallel.can_open(self.engine):
                    position, folded = self._rebuild_in_workers(
                        classes, targets, label, tasks, batch_size, progress
                    )
                else:
                    position, folded = self._rebuild(classes, targets, label, batch_size, progress)
            except Exception as error:
                self._rebuild_failed(classes, error)
                raise
            if progress is not None:
                progress(label, position, position)
            return folded

    def _rebuild(
        self,
        classes: list[type[Projection]],
        targets: dict[str, str],
        label: str,
        batch_size: int,
        progress: Progress | None,
    ) -> tuple[int, int]:
        """Fold the log into ``classes``' rebuild sets (``targets``) in this process, reading
        it once for all of them, and switch; the position reached and the events read."""
        folds = [cls(self.tables(cls, targets[cls.NAME]), rebuilding=True) for cls in classes]
        names = [cls.NAME for cls in classes]
        position, folded, head = 0, 0, self.head()
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
                    progress(label, position, head)
            # each keyed row once, then wait until everything is written
            writer.put([rows for p in folds for rows in p.drain(keyed=True)])
        last = batch[-1].position if batch else position
        position, tail = self._switch(classes, targets, folds, batch, last, batch_size)
        return position, folded + tail

    def _rebuild_in_workers(
        self,
        classes: list[type[Projection]],
        targets: dict[str, str],
        label: str,
        tasks: list[parallel.Task],
        batch_size: int,
        progress: Progress | None,
    ) -> tuple[int, int]:
        """:meth:`_rebuild` with the fold of the log up to ``tasks``' end done by worker
        processes, one task each (:mod:`projections.parallel`); the events after it are
        folded here, in the switching transaction, by folds that read the rows the workers
        wrote (as a catch-up does). A worker that fails, or dies, fails the rebuild: the
        others are stopped and the error goes up."""
        head = tasks[0].end
        shown: dict[str, int] = {}

        def report(positions: dict[str, int]) -> None:
            moved = {n: p for n, p in positions.items() if shown.get(n) != p}
            if moved:
                try:
                    with self._writing() as connection:
                        for position in set(moved.values()):
                            names = [n for n, p in moved.items() if p == position]
                            self._rebuilt_upto(names, position)(connection)
                    shown.update(moved)
                except Exception:  # only progress: a database too busy now takes it next time
                    log.debug("rebuild progress not recorded", exc_info=True)
            if progress is not None:
                progress(label, min(positions.values()), head)

        folded = parallel.run(
            tasks,
            self.ledger,
            self.engine,
            {cls.NAME: self.tables(cls, targets[cls.NAME]) for cls in classes},
            batch_size,
            report,
        )
        folds = [cls(self.tables(cls, targets[cls.NAME])) for cls in classes]
        position, tail = self._switch(classes, targets, folds, [], head, batch_size)
        return position, folded + tail

    def _start_rebuild(self, classes: list[type[Projection]]) -> dict[str, str]:
        """Mark each projection of ``classes`` as being rebuilt into its other table set and
        empty that set (a dead rebuild's half-built rows go); the set of each."""
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
        return targets

    def _switch(
        self,
        classes: list[type[Projection]],
        targets: dict[str, str],
        folds: list[Projection],
        pending: list[Envelope],
        after: int,
        batch_size: int,
    ) -> tuple[int, int]:
        """In one transaction: fold ``pending`` and every event after position ``after``
        into ``folds``, and make each projection's rebuilt set the one readers read; the
        position reached and how many events were folded here."""
        position, folded = after, 0
        with self._writing() as connection:
            for cls in classes:
                self._state(connection, cls.NAME, lock=True)
            rest = [pending, *read_batches(self.ledger, connection, after, batch_size)]
            for part in rest:
                if not part:
                    continue
                for projection in folds:
                    fold_into(projection, connection, part)
                position, folded = part[-1].position, folded + len(part)
            for cls in classes:
                connection.execute(
                    update(PS)
                    .where(PS.c.name == cls.NAME)
                    .values(
                        active_set=targets[cls.NAME],
                        position=position,
                        rebuild_set=None,
                        rebuild_position=None,
                        last_error=None,
                        updated_at=now(),
                    )
                )
        return position, folded

    def _rebuild_failed(self, classes: list[type[Projection]], error: Exception) -> None:
        """Record ``error`` on each projection and clear its rebuild set (readers never left
        the set they read)."""
        for cls in classes:
            self._record_error(cls.NAME, error)
        with contextlib.suppress(Exception), self._writing() as connection:
            connection.execute(
                update(PS)
                .where(PS.c.name.in_([cls.NAME for cls in classes]))
                .values(rebuild_set=None, rebuild_position=None)
            )

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
                update(PS)
                .where(PS.c.name.in_(names))
                .values(rebuild_position=position, updated_at=now())
            )

        return record

    # -- reading -----------------------------------------------------------------------------

    def position(self, name: str) -> int:
        with self.engine.connect() as connection:
            return int(self._state(connection, name)["position"])

    def positions(self, names: tuple[str, ...]) -> tuple[int, ...]:
        """The positions the projections ``names`` reflect, in that order, in one query."""
        with self.engine.connect() as connection:
            query = select(PS.c.name, PS.c.position).where(PS.c.name.in_(names))
            found = {str(name): int(position) for name, position in connection.execute(query)}
        return tuple(found[name] for name in names)

    @contextlib.contextmanager
    def reading(self, name: str) -> Iterator[tuple[Connection, dict[str, Table], int]]:
        """A consistent read of the active set: (connection, tables, position it reflects)."""
        with self.reading_many((name,)) as (connection, tables, positions):
            yield connection, tables[name], positions[name]

    @contextlib.contextmanager
    def reading_many(
        self, names: tuple[str, ...]
    ) -> Iterator[tuple[Connection, dict[str, dict[str, Table]], dict[str, int]]]:
        """One consistent read of the active sets of several projections, in one transaction:
        (connection, their tables by projection, the position each reflects)."""
        classes = {name: self.select(name)[0] for name in names}
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                if self.engine.dialect.name == "postgresql":
                    # before the snapshot is taken, so that no rebuild empties either set
                    # under this read (TRUNCATE waits for it; see ``_empty``)
                    every = [
                        t
                        for cls in classes.values()
                        for s in SETS
                        for t in self.tables(cls, s).values()
                    ]
                    connection.exec_driver_sql(f"LOCK TABLE {_quoted(every)} IN ACCESS SHARE MODE")
                if self.engine.dialect.name == "sqlite":
                    # pysqlite sends no BEGIN before a SELECT: without one each statement
                    # would read its own moment, not one snapshot (WAL keeps writers going)
                    connection.exec_driver_sql("BEGIN")
                if len(names) == 1:
                    states = {names[0]: self._state(connection, names[0])}
                else:
                    query = select(PS).where(PS.c.name.in_(names))
                    states = {
                        row["name"]: dict(row) for row in connection.execute(query).mappings()
                    }
                yield (
                    connection,
                    {n: self.tables(cls, states[n]["active_set"]) for n, cls in classes.items()},
                    {n: int(states[n]["position"]) for n in names},
                )

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
                    name=name,
                    position=row["position"],
                    lag=max(0, head - row["position"]),
                    last_error=row["last_error"],
                    rebuilding=rebuilding,
                    rebuild_position=row["rebuild_position"] if rebuilding else None,
                    active_set=row["active_set"],
                )
            )
        return found


def _quoted(tables: Iterable[Table]) -> str:
    return ", ".join(f'"{table.name}"' for table in tables)


class _Overtaken(Exception):
    """Another follower folded this batch first."""
