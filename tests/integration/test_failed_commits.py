"""A commit the database refuses is never reported as a success (SQLite).

eventsourcing-sqlalchemy swallows an ``OperationalError`` raised by COMMIT on a SQLite file
(a locked database, a full disk): the command would answer with a position while nothing was
stored. The driver here is made to refuse one COMMIT, as a full disk or a lock would; the
ledger must run the work again (a lock) or refuse it with 503 ``storage_failed`` (anything
else), and never leave a hole or a half-written change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from api.problems import status_of
from ledger.errors import StorageFailed
from ledger.service import Ledger
from tests.support.people import grant_people
from tests.support.story import Story


class RefusingConnection(sqlite3.Connection):
    """A real SQLite connection whose next COMMITs fail with a given message."""

    refusals: list[str] = []

    def commit(self) -> None:
        if RefusingConnection.refusals and self.in_transaction:
            raise sqlite3.OperationalError(RefusingConnection.refusals.pop(0))
        super().commit()


@pytest.fixture
def sqlite_ledger(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Ledger]:
    import shutil

    path = tmp_path / "ledger.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    ledger = Ledger(f"sqlite:///{path}")

    @sa.event.listens_for(ledger.engine, "do_connect")
    def refusing(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["factory"] = RefusingConnection

    ledger.engine.dispose()
    yield ledger
    RefusingConnection.refusals.clear()
    ledger.engine.dispose()


@pytest.fixture
def story(sqlite_ledger: Ledger) -> Story:
    story = Story(sqlite_ledger, grant_people(sqlite_ledger))
    story.budget(100_000_000)
    return story


def test_a_commit_refused_for_a_full_disk_is_refused_to_the_caller_and_writes_nothing(
    story: Story,
) -> None:
    ledger = story.ledger
    before = ledger.count_events()
    RefusingConnection.refusals.append("database or disk is full")
    with pytest.raises(StorageFailed, match="did not store the change") as refused:
        story.submitted()
    assert status_of(refused.value) == 503 and refused.value.code == "storage_failed"
    assert ledger.count_events() == before
    # The next command is stored, at the next position: no hole, nothing half-written.
    story.submitted()
    positions = _positions(ledger)
    assert positions == list(range(1, len(positions) + 1)) and len(positions) > before


def test_a_commit_refused_for_a_lock_runs_the_work_again(story: Story) -> None:
    ledger = story.ledger
    before = ledger.count_events()
    RefusingConnection.refusals.append("database is locked")
    retries = ledger.retries
    app_id = story.submitted()
    assert ledger.retries == retries + 1
    assert ledger.get_application(app_id)["status"] == "submitted"
    positions = _positions(ledger)
    assert positions == list(range(1, len(positions) + 1)) and len(positions) > before


def _positions(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as connection:
        return list(
            connection.execute(sa.text("SELECT id FROM ledger_events ORDER BY id")).scalars()
        )
