"""Holes in the log's positions, and the record of each one.

Positions have no holes: migration 0005 has the database give each new event the position
after the last one (``ledger_events_position()``, under the recorder's table lock, in the
inserting transaction), so a transaction that is rolled back or killed takes its positions
with it. A log written before that took its positions from a PostgreSQL sequence, which
does not give back a number a failed transaction took, and may hold holes. For a Merkle log
a hole looks exactly like a deleted event, so a hole is never passed over in silence:

- an *unrecorded* hole is reported by everything that reads the log whole (the Merkle tree
  stops before it, verification names it ``missing``, an export refuses);
- ``ledger db record-gaps`` records each hole that the Merkle tree never held (and no
  signed checkpoint covers) in ``log_gaps``: which position, found when, by whom, why. A
  recorded hole is a leaf of the tree of its own (:meth:`RecordedGap.leaf_data`), so the
  tree, verification, export and import account for it, and the record itself cannot be
  changed afterwards without the tree showing it. ``log_gaps`` is append-only, like the
  events table.

Nothing here knows about the read models; :mod:`projections.gaps` checks a hole against the
Merkle tree and the checkpoints before it is recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)

from ledger import merkle

metadata = MetaData()

#: one row per recorded hole (migration 0005)
log_gaps = Table(
    "log_gaps",
    metadata,
    Column(
        "position",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("found_at", String(32), nullable=False),  # UTC, ISO 8601 with Z, as hashed
    Column("found_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class RecordedGap:
    """A position that holds no event, recorded as such: its own leaf in the Merkle tree.

    Its leaf data is the canonical JSON of the record (keys sorted, no spaces, UTF-8), which
    no stored event's leaf data can equal (an event's begins ``{"originator_id"``)::

        {"found_at":"2026-12-05T10:00:00.000000Z","found_by":"…","gap":true,
         "position":7,"reason":"…"}
    """

    position: int
    found_at: str
    found_by: str
    reason: str

    def leaf_data(self) -> bytes:
        return json.dumps(
            {
                "found_at": self.found_at,
                "found_by": self.found_by,
                "gap": True,
                "position": self.position,
                "reason": self.reason,
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(self.leaf_data())


def recorded(
    connection: Connection, after: int = 0, before: int | None = None
) -> list[RecordedGap]:
    """The recorded holes after position ``after`` (and before ``before``), oldest first."""
    g = log_gaps.c
    query = select(g.position, g.found_at, g.found_by, g.reason).where(g.position > after)
    if before is not None:
        query = query.where(g.position < before)
    return [
        RecordedGap(int(position), found_at, found_by, reason)
        for position, found_at, found_by, reason in connection.execute(query.order_by(g.position))
    ]


def holes(connection: Connection, events_table: Table) -> list[int]:
    """Every position below the last event's that holds neither an event nor a recorded
    hole, in order (one pass over the positions' index, in the database)."""
    ids = events_table.c.id
    previous = func.lag(ids).over(order_by=ids).label("previous")
    jumps = select(ids.label("position"), previous).subquery()
    found: list[int] = []
    rows = connection.execute(
        select(jumps.c.previous, jumps.c.position).where(
            jumps.c.position > func.coalesce(jumps.c.previous, 0) + 1
        )
    )
    for previous_position, position in rows:
        found.extend(range(int(previous_position or 0) + 1, int(position)))
    if not found:
        return []
    known = {gap.position for gap in recorded(connection, found[0] - 1, found[-1] + 1)}
    return [position for position in found if position not in known]


def record(
    connection: Connection, positions: Iterable[int], found_by: str, reason: str
) -> list[RecordedGap]:
    """Record ``positions`` as holes (the caller has checked that they are), found now."""
    found_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    gaps = [RecordedGap(int(p), found_at, found_by, reason) for p in sorted(set(positions))]
    if gaps:
        connection.execute(
            insert(log_gaps),
            [
                {
                    "position": g.position,
                    "found_at": g.found_at,
                    "found_by": g.found_by,
                    "reason": g.reason,
                }
                for g in gaps
            ],
        )
    return gaps


def lock_events(connection: Connection, events_table: Table) -> None:
    """Hold the recorder's lock on the events table until this transaction ends (PostgreSQL:
    no event is appended meanwhile; SQLite takes one writer at a time anyway)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT {events_table.name}_lock()"))


def merged(
    events: Iterable[tuple[Any, ...]], gaps: Iterable[RecordedGap]
) -> Generator[tuple[Any, ...] | RecordedGap, None, None]:
    """Stored event rows (position first) and recorded holes, in position order."""
    pending = iter(gaps)
    gap = next(pending, None)
    for row in events:
        while gap is not None and gap.position < row[0]:
            yield gap
            gap = next(pending, None)
        yield row
    while gap is not None:
        yield gap
        gap = next(pending, None)
