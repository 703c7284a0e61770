"""The events table is append-only in the database itself (ARCHITECTURE.md "Storage"): triggers
installed by the migrations reject UPDATE and DELETE, and TRUNCATE on PostgreSQL, whoever
sends them. Plain SQL on a separate engine, as someone with a database client would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.service import Ledger
from tests.support.people import People, grant_people
from tests.support.story import Story

TAMPERING = [
    pytest.param("UPDATE ledger_events SET topic = 'x'", id="update-every-row"),
    pytest.param(
        "UPDATE ledger_events SET state = state WHERE id = (SELECT max(id) FROM ledger_events)",
        id="update-one-row-to-itself",
    ),
    pytest.param("DELETE FROM ledger_events", id="delete-every-row"),
    pytest.param(
        "DELETE FROM ledger_events WHERE id = (SELECT max(id) FROM ledger_events)",
        id="delete-the-last-row",
    ),
]


@pytest.fixture
def outsider(database_url: str) -> Iterator[sa.Engine]:
    """A plain SQLAlchemy engine on the ledger's database, not going through the ledger."""
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def written(ledger: Ledger, people: People) -> Ledger:
    """A ledger with an application settled and paid: some events to tamper with."""
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)
    return ledger


def rows(engine: sa.Engine) -> list[tuple[Any, ...]]:
    query = "SELECT id, originator_id, originator_version, topic, state FROM ledger_events"
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query + " ORDER BY id"))]


@pytest.mark.parametrize("statement", TAMPERING)
def test_events_cannot_be_updated_or_deleted_with_plain_sql(
    written: Ledger, outsider: sa.Engine, statement: str
) -> None:
    before = rows(outsider)
    assert len(before) == written.count_events() > 20

    with pytest.raises(sa.exc.DBAPIError, match="append-only"), outsider.begin() as connection:
        connection.execute(sa.text(statement))

    assert rows(outsider) == before


@pytest.fixture
def written_on_postgresql(pg_url: str) -> Iterator[tuple[Ledger, sa.Engine]]:
    """As ``written`` and ``outsider``, on PostgreSQL only."""
    ledger = Ledger(pg_url)
    story = Story(ledger, grant_people(ledger))
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)
    engine = sa.create_engine(pg_url)
    yield ledger, engine
    engine.dispose()
    ledger.engine.dispose()


def test_events_cannot_be_truncated_on_postgresql(
    written_on_postgresql: tuple[Ledger, sa.Engine],
) -> None:
    ledger, outsider = written_on_postgresql
    before = rows(outsider)
    assert len(before) == ledger.count_events() > 20

    with pytest.raises(sa.exc.DBAPIError, match="append-only"), outsider.begin() as connection:
        connection.execute(sa.text("TRUNCATE ledger_events"))

    assert rows(outsider) == before
