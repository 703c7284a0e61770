"""Rows written in bulk (COPY on PostgreSQL, INSERT on SQLite) read back exactly as given,
whatever characters their text and JSON hold."""

from __future__ import annotations

import datetime as dt
from uuid import uuid4

from sqlalchemy import select

from ledger.service import Ledger
from projections.bulk import COPY_AT_LEAST, insert_rows
from projections.registry import all_tables

AWKWARD = [
    "plain",
    "Hồ sơ HS-2015-001: 1.234.567 ₫",
    "tab\there",
    "line\nbreak",
    "cr\rhere",
    "back\\slash",
    "\\N",
    "\\",
    'quote " and , comma',
    "",
    " ",
    "trailing\\",
]


def test_awkward_text_and_json_round_trip(ledger: Ledger) -> None:
    tables = all_tables()
    trail, labels = tables.tables["audit_trail_a"], tables.tables["audit_trail_labels_a"]
    rows = [
        {
            "position": 10_000 + i,
            "recorded_at": dt.datetime(2015, 3, 4, 5, 6, 7, 890),
            "effective_date": dt.date(2015, 3, 4),
            "record_type": text or "x",
            "record_id": uuid4(),
            "event_type": "Test.Event",
            "actor": "a",
            "actor_name": None if i % 3 else text,
            "department": "SKHCN",
            "amounts": {"amount": 10**15 + i, "text": text},
            "references": {text: [text, None]},
            "summary": text,
            "leaf_hash": None if i % 2 else text,
        }
        for i, text in enumerate(AWKWARD * 3)
    ]
    named = [{"record_id": uuid4(), "label": text} for text in AWKWARD * 2]
    assert len(rows) >= COPY_AT_LEAST and len(named) >= COPY_AT_LEAST
    with ledger.engine.begin() as connection:
        insert_rows(connection, trail, rows)
        insert_rows(connection, labels, named)
    with ledger.engine.connect() as connection:
        query = select(trail).order_by(trail.c.position)
        got = [dict(r) for r in connection.execute(query).mappings()]
        got_labels = {r.record_id: r.label for r in connection.execute(select(labels))}
    assert got == rows
    assert got_labels == {r["record_id"]: r["label"] for r in named}
