"""The event recorder: eventsourcing-sqlalchemy's, gap-free on PostgreSQL, on SQLAlchemy Core.

The library takes an EXCLUSIVE lock on the events table for every insert, so events commit in
the order of their positions. But a PostgreSQL sequence does not give back a number an insert
took if that insert then fails: a writer that lost an optimistic-concurrency race (or claimed
a number already taken) would leave a hole in the positions. Under the same lock, this
recorder first looks for the (id, version) pairs it is about to insert; if one is there, it
refuses with the library's ``IntegrityError`` before touching the sequence. Positions then run
1, 2, 3, … without gaps, which the Merkle log over the positions relies on. (SQLite's
AUTOINCREMENT counter is transactional, so it needs no such check.)

The lock, the library's NOTIFY to live followers and that check go to PostgreSQL in one
round trip. The lock is taken through ``ledger_events_lock()`` (migration 0004), a SECURITY
DEFINER function that does only that: PostgreSQL lets only a holder of UPDATE, DELETE or
TRUNCATE on a table lock it in EXCLUSIVE mode, and the application's role holds none of those
on the events table. A lock lasts until the end of the transaction that took it, here the
inserting one. Reading an aggregate's events and inserting new ones use SQLAlchemy Core
statements on the same table, in the same session and transaction as the library's ORM path,
which costs several times more per call (DESIGN.md, "measured baselines").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session


class LedgerRecorder(SQLAlchemyApplicationRecorder):
    @property
    def table(self) -> Table:
        return self.events_record_cls.__table__  # type: ignore[no-any-return]

    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if not stored_events:
            return []
        if self._is_postgres():
            self._lock_notify_and_check(session, stored_events)
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
        return [row.id for row in session.execute(statement, rows)]

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

    def _is_postgres(self) -> bool:
        engine = self.datastore.engine
        return engine is not None and engine.dialect.name == "postgresql"

    def _lock_notify_and_check(
        self, session: Session, stored_events: Sequence[StoredEvent]
    ) -> None:
        """One round trip: take the library's table lock (EXCLUSIVE, through the lock
        function, held until this transaction ends), queue the library's NOTIFY for live
        followers (sent at commit, dropped on rollback), and look for any (id, version) pair
        about to be inserted; refuse before the sequence is touched if one is taken."""
        pairs = ", ".join(["(%s::uuid, %s)"] * len(stored_events))
        params: list[object] = []
        for e in stored_events:
            params += [str(e.originator_id), e.originator_version]
        cursor = session.connection().connection.cursor()
        try:
            cursor.execute(
                f"SELECT {self.events_table_name}_lock(); "
                f"NOTIFY {self.channel_name}; "
                f"SELECT originator_id, originator_version FROM {self.events_table_name} "
                f"WHERE (originator_id, originator_version) IN ({pairs}) LIMIT 1",
                params,
            )
            taken = cursor.fetchone()
        finally:
            cursor.close()
        if taken is not None:
            raise IntegrityError(f"version {taken[1]} of {taken[0]} is already recorded")
