"""Replay: the projections as the log stood, folded into a throw-away store.

A replay folds the log into a throw-away SQLite store with the live projections'
own code (``rebuilding=True``: keyed rows stay in memory and are written once, at the end).
Two axes choose the events: *as known at* a position or a recorded time (a prefix of the
log, whole commands only) and *as of* a business date (the events effective by then). The
store is read like the live tables (:meth:`Projector.reading`); replays of the HTTP reports
are kept by :mod:`projections.replay_cache`.

It reads as little as it can: a recorded time is first turned into a position with one
query that looks at the first bytes of each stored state (the library writes the recorded
time first), so the fold itself only reads up to a position; and only the events some
selected projection folds are decoded (the others are skipped by their topic). A replay
starts from the nearest replay snapshot (:mod:`projections.snapshots`), which
:func:`keep_snapshots` makes ahead of time beside a server.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from functools import singledispatchmethod
from typing import Any

from eventsourcing.utils import resolve_topic
from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    MetaData,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.pool import StaticPool

from ledger.service import Ledger
from projections.base import Envelope, Progress, Projection
from projections.checkpoints import root_at
from projections.folding import fold_into, gc_paused
from projections.health import Worker
from projections.merkle import MerkleTree
from projections.projector import Projector
from projections.registry import BY_NAME, PROJECTIONS, all_tables
from projections.snapshots import snapshots_for, snapshotted, sqlite_engine
from projections.source import decoder_for, read_batch
from projections.state import metadata as state_metadata
from projections.state import now, projection_state

log = logging.getLogger(__name__)
PS = projection_state

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
                fold_into(projection, target, every if whole_log else dated, start > 0)
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
    away, never rolled back), JSON by ``orjson``, one connection (see
    :class:`~projections.replay_cache.ReplayCache` for readers in several threads)."""
    engine = sqlite_engine(
        "sqlite://",
        ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{STORE_CACHE_KIB}"),
        poolclass=StaticPool,
        creator=_private_database,
    )

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
