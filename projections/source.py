"""Reading the event log for projections: SQLAlchemy Core, in batches, decoded directly.

The library's notification path goes through the ORM one row at a time; folds read the
events table with one keyset-paginated Core query per batch and decode each row's state with
the ledger's own mapper (the same transcodings as the writer's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, select

from ledger.service import Ledger
from projections.base import Envelope


def read_batches(
    ledger: Ledger,
    connection: Connection,
    after: int,
    batch_size: int,
    upto: int | None = None,
) -> Iterator[list[Envelope]]:
    """Batches of events after position ``after`` (up to ``upto``), oldest first."""
    while True:
        batch = read_batch(ledger, connection, after, batch_size, upto)
        if not batch:
            return
        yield batch
        after = batch[-1].position


def read_batch(
    ledger: Ledger, connection: Connection, after: int, limit: int, upto: int | None = None
) -> list[Envelope]:
    t = ledger.events_table
    query = select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
    query = query.where(t.c.id > after)
    if upto is not None:
        query = query.where(t.c.id <= upto)
    query = query.order_by(t.c.id).limit(limit)
    decode = ledger.mapper.to_domain_event
    return [
        Envelope(row[0], decode(StoredEvent(row[1], row[2], row[3], _bytes(row[4]))))
        for row in connection.execute(query)
    ]


def _bytes(state: Any) -> bytes:
    return state if isinstance(state, bytes) else bytes(state)
