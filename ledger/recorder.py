"""The event recorder: eventsourcing-sqlalchemy's, on SQLAlchemy Core, gap-free on PostgreSQL.

The library takes an EXCLUSIVE lock on the events table for every insert, so events commit in
the order of their positions and a projection never skips an event that commits late. The
position itself is given by the database in the inserting transaction (PostgreSQL: the
trigger of migration 0005, the position after the last one, read under that lock; SQLite:
its AUTOINCREMENT counter, a table). Either rolls back with the transaction: a writer that
loses an optimistic-concurrency race, a request whose idempotency key another took first, a
connection dropped or a process killed before COMMIT leave no hole. Positions run 1, 2, 3,
… without gaps, which the Merkle log over the positions relies on (``ledger/log_gaps.py``
says what becomes of holes left by the sequence the positions came from before 0005).

Under that lock (SQLite: once the insert holds the database's write lock), a unit of work's
settled reads are checked: the budget
years and support rules it was served from memory (``ledger/repository.py``) must not have
gained an event since; if one has, the insert is refused as a concurrency conflict and the
unit of work runs again on fresh reads.

The lock, the library's NOTIFY to live followers, that check and the insert go to PostgreSQL
in one statement string, made before the lock is taken: the lock is held only from the insert
to the end of the transaction, never while this process builds a statement. (Sent in a round
trip of its own before the insert, the lock was held for half its time while the writing
process, busy with other requests, got round to sending the insert: ``bench/http_commands.py
--sample-waits`` shows what the holder of the lock is doing.)
The lock is taken through ``ledger_events_lock()`` (migration 0004), a SECURITY DEFINER
function that does only that: PostgreSQL lets only a holder of UPDATE, DELETE or TRUNCATE on
a table lock it in EXCLUSIVE mode, and the application's role holds none of those on the
events table. A lock lasts until the end of the transaction that took it, here the inserting
one. Reading an aggregate's events and inserting new ones use SQLAlchemy Core statements on
the same table, in the same session and transaction as the library's ORM path, which costs
several times more per call (ARCHITECTURE.md, "Benchmarks" in README).
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from ledger.repository import settled_reads
from ledger.unit_of_work import in_unit_of_work

#: the first key of the advisory lock a unit of work queues on for an aggregate it is about
#: to change (PostgreSQL; 6374 is the rebuild claims', ``projections/claims.py``)
QUEUE_NAMESPACE = 6375

#: the session whose transaction holds the events table's lock (it took it inserting)
_holding_the_lock: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "ledger_holding_the_events_lock", default=None
)


class SettledReadChanged(IntegrityError):
    """A budget year or rule book the unit of work read from memory changed since: rerun."""


class LedgerRecorder(SQLAlchemyApplicationRecorder):
    @property
    def table(self) -> Table:
        return self.events_record_cls.__table__  # type: ignore[no-any-return]

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        settled = settled_reads()
        if self._is_postgres():
            return self._lock_check_and_insert(session, stored_events, settled)
        rows = [
            {
                "originator_id": e.originator_id,
                "originator_version": e.originator_version,
                "topic": e.topic,
                "state": e.state,
            }
            for e in stored_events
        ]
        statement = insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True)
        positions = [row.id for row in session.execute(statement, rows)]
        # SQLite: only once this transaction writes does it hold the database's write lock
        # (a SELECT before it would not stop another writer committing in between)
        if settled and self._changed_since(session, settled, positions):
            raise SettledReadChanged("a budget year or support rule changed since it was read")
        return positions

    def select_events(
        self,
        originator_id: UUID | str,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        t = self.table
        query = select(t.c.originator_version, t.c.topic, t.c.state).where(
            t.c.originator_id == originator_id
        )
        if gt is not None:
            query = query.where(t.c.originator_version > gt)
        if lte is not None:
            query = query.where(t.c.originator_version <= lte)
        query = query.order_by(t.c.originator_version.desc() if desc else t.c.originator_version)
        if limit is not None:
            query = query.limit(limit)
        with self.transaction(commit=False) as session:
            rows = session.connection().execute(query).all()
        return [
            StoredEvent(originator_id, row.originator_version, row.topic, bytes(row.state))
            for row in rows
        ]

    def max_notification_id(self) -> int | None:
        """The head of the log: the largest position, read as one column (the library's ORM
        query loads the whole last row, its state included, and costs twice as much)."""
        with self.transaction(commit=False) as session:
            head = session.connection().execute(select(func.max(self.table.c.id))).scalar()
        return int(head) if head is not None else None

    def _is_postgres(self) -> bool:
        engine = self.datastore.engine
        return engine is not None and engine.dialect.name == "postgresql"

    def _lock_check_and_insert(
        self, session: Session, stored_events: Sequence[StoredEvent], settled: dict[UUID, int]
    ) -> list[int]:
        """One round trip: take the library's table lock (EXCLUSIVE, through the lock
        function, held until this transaction ends), queue the library's NOTIFY for live
        followers (sent at commit, dropped on rollback) and insert the events, unless a
        settled read has changed since it was read (looked at under the lock, in the same
        statement); their positions, in the order of ``stored_events``.

        The statement is made before the lock is taken: once this transaction holds it,
        nothing but this insert, the rest of the unit's writes and COMMIT runs before other
        writers may go on. (Taken in its own round trip before the insert, the lock was held
        while this process built the insert: under load, most of the time it was held.)"""
        table = self.events_table_name
        row = "(%s::uuid, %s::bigint, %s, %s::bytea)"
        parameters: list[Any] = []
        for e in stored_events:
            parameters += [str(e.originator_id), e.originator_version, e.topic, e.state]
        guard = ""
        if settled:
            changed = " OR ".join(
                "(originator_id = %s::uuid AND originator_version > %s)" for _ in settled
            )
            guard = f" WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {changed})"
            for aggregate_id, version in settled.items():
                parameters += [str(aggregate_id), version]
        sql = (
            f"SELECT {table}_lock(); NOTIFY {self.channel_name}; "
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) "
            f"SELECT * FROM (VALUES {', '.join([row] * len(stored_events))}) "
            f"AS new (originator_id, originator_version, topic, state){guard} "
            "RETURNING id, originator_id, originator_version"
        )
        result = session.connection().exec_driver_sql(sql, tuple(parameters))
        _holding_the_lock.set(session)
        positions = {(str(r[1]), int(r[2])): int(r[0]) for r in result}
        if not positions:
            raise SettledReadChanged("a budget year or support rule changed since it was read")
        return [positions[(str(e.originator_id), e.originator_version)] for e in stored_events]

    def queue_for(self, aggregate_id: UUID) -> None:
        """Inside a unit of work on PostgreSQL: wait until no other unit of work that queued
        for ``aggregate_id`` is still running, and keep the place until this one's transaction
        ends (a transaction-level advisory lock). Call it before reading an aggregate that
        many writers change (a budget line): they then read it one after the other, each
        seeing the one before committed, instead of all reading the same version, all but
        one losing the race at the insert and running again — each time through the queue
        for the events table's lock. What decides is unchanged: the store's unique
        (id, version) index still refuses a lost race, which the unit of work reruns.

        Nothing to wait for on SQLite (one writer at a time), outside a unit of work, or once
        this transaction holds the events table's lock (its writes are then in order with
        every other writer's; waiting there for a writer that waits for that lock would be a
        deadlock)."""
        if not self._is_postgres() or not in_unit_of_work():
            return
        with self.transaction(commit=False) as session:
            if _holding_the_lock.get() is session:
                return
            key = int.from_bytes(aggregate_id.bytes[:4], "big", signed=True)
            session.connection().exec_driver_sql(
                f"SELECT pg_advisory_xact_lock({QUEUE_NAMESPACE}, {key})"
            )

    def _changed_since(
        self, session: Session, settled: dict[UUID, int], inserted: Sequence[int]
    ) -> bool:
        """Whether a settled read has changed since, by another writer than this insert
        (SQLite; the driver's own SQL: built as a Core statement, the check cost more than
        the rest of a command's queries together)."""
        changed = " OR ".join(["(originator_id = ? AND originator_version > ?)"] * len(settled))
        sql = f"SELECT 1 FROM {self.events_table_name} WHERE id < ? AND ({changed}) LIMIT 1"
        parameters: list[Any] = [min(inserted)]
        for aggregate_id, version in settled.items():
            parameters += [aggregate_id.bytes, version]
        found = session.connection().exec_driver_sql(sql, tuple(parameters)).first()
        return found is not None
