"""The event recorder: eventsourcing-sqlalchemy's, made gap-free on PostgreSQL.

The library takes an EXCLUSIVE lock on the events table for every insert, so events commit in
the order of their positions. But a PostgreSQL sequence does not give back a number an insert
took if that insert then fails: a writer that lost an optimistic-concurrency race (or claimed
a number already taken) would leave a hole in the positions. Under the same lock, this
recorder first looks for the (id, version) pairs it is about to insert; if one is there, it
refuses with the library's ``IntegrityError`` before touching the sequence. Positions then run
1, 2, 3, … without gaps, which the Merkle log over the positions relies on. (SQLite's
AUTOINCREMENT counter is transactional, so it needs no such check.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session


class LedgerRecorder(SQLAlchemyApplicationRecorder):
    def _insert_stored_events(
        self, session: Session, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int]:
        if stored_events and self._is_postgres():
            self._lock_table(session)
            self._refuse_taken_versions(session, stored_events)
        return super()._insert_stored_events(session, stored_events, **kwargs)

    def _is_postgres(self) -> bool:
        engine = self.datastore.engine
        return engine is not None and engine.dialect.name == "postgresql"

    def _refuse_taken_versions(
        self, session: Session, stored_events: Sequence[StoredEvent]
    ) -> None:
        table = self.events_record_cls.__table__
        taken = session.execute(
            select(table.c.originator_id, table.c.originator_version)
            .where(
                or_(
                    *(
                        and_(
                            table.c.originator_id == e.originator_id,
                            table.c.originator_version == e.originator_version,
                        )
                        for e in stored_events
                    )
                )
            )
            .limit(1)
        ).first()
        if taken is not None:
            raise IntegrityError(
                f"version {taken.originator_version} of {taken.originator_id} is already recorded"
            )
