"""Each projection's tracking row: which table set readers use, how far it has folded.

``position`` is the global position of the last event folded into the active set; it moves
in the same transaction as the read-model rows, so a crash never counts an event twice.
During a rebuild, ``rebuild_set`` and ``rebuild_position`` say how far the other set is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, Text, insert, select

from projections.base import BIGINT

metadata = MetaData()

projection_state = Table(
    "projection_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("active_set", String(1), nullable=False),
    Column("position", BIGINT, nullable=False),
    Column("rebuild_set", String(1), nullable=True),
    Column("rebuild_position", BIGINT, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_rows(connection: Connection, names: list[str]) -> None:
    """Give every projection a tracking row (active set ``a``, nothing folded yet)."""
    known = set(connection.execute(select(projection_state.c.name)).scalars())
    missing = [name for name in names if name not in known]
    if missing:
        connection.execute(
            insert(projection_state),
            [{"name": n, "active_set": "a", "position": 0, "updated_at": now()} for n in missing],
        )
