"""Positions have no holes under any fault (ARCHITECTURE.md "Storage"; migration 0005).

A transaction that took positions and then did not commit — rolled back by the ledger, its
connection dropped, its server process killed — leaves nothing behind: the next event gets
the next position. On PostgreSQL this is the point of migration 0005 (a sequence burned the
numbers of every such transaction); on SQLite the AUTOINCREMENT counter always rolled back.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from api.idempotency import Answer, request_hash, run_once
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.service import Ledger
from tests.support.names import unique
from tests.support.people import People, grant_people


def positions(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as connection:
        return list(
            connection.execute(sa.text("SELECT id FROM ledger_events ORDER BY id")).scalars()
        )


def contiguous(ledger: Ledger) -> bool:
    found = positions(ledger)
    return found == list(range(1, len(found) + 1))


def register(ledger: Ledger, people: People) -> int:
    tax_code = str(uuid.uuid4().int)[:10]
    cmd = c.RegisterEnterprise(
        tax_code=tax_code,
        name=unique("Công ty"),
        district="QH-CAUGIAY",
        sector="industry",
        size="small",
    )
    return ledger.register_enterprise(cmd, people.officer).position


class Undone(Exception):
    """Raised by a unit of work after its events were inserted, to roll it back."""


def test_a_unit_of_work_rolled_back_after_its_inserts_leaves_no_hole(
    ledger: Ledger, people: People
) -> None:
    before = register(ledger, people)

    # Step 1: a command's events are inserted, then its unit of work fails and rolls back.
    def work() -> None:
        register(ledger, people)
        raise Undone

    with pytest.raises(Undone):
        ledger.execute(work)
    assert ledger.position() == before

    # Step 2: the next command's events follow on at once.
    assert register(ledger, people) == before + 2  # an enterprise is two events
    assert contiguous(ledger)


def test_a_transaction_whose_connection_is_killed_before_commit_leaves_no_hole(pg_url: str) -> None:
    """A server killed (or its connection terminated) after inserting, before COMMIT."""
    doomed_ledger = Ledger(pg_url)
    try:
        people = grant_people(doomed_ledger)
        before = register(doomed_ledger, people)
        raw: Any = doomed_ledger.engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
        cursor.execute("SELECT ledger_events_lock()")
        cursor.execute(
            "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
            "VALUES (%s, 1, 'doomed', '{}') RETURNING id",
            (str(uuid.uuid4()),),
        )
        assert cursor.fetchone()[0] == before + 1
        with doomed_ledger.engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(Exception, match="terminat|closed"):
            cursor.execute("SELECT 1")
        raw.invalidate()

        assert register(doomed_ledger, people) == before + 2
        assert contiguous(doomed_ledger)
    finally:
        doomed_ledger.engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_sixteen_requests_with_one_idempotency_key_write_one_event_and_no_hole(
    ledger: Ledger, people: People
) -> None:
    """Fifteen of them lose the race for the key's row after inserting their event: their
    transactions are rolled back and their positions with them."""
    head = ledger.position()
    body: dict[str, Any] = {"name": "Nguyễn Thị Mai", "role": "viewer", "department": "SCT"}
    fingerprint = request_hash("POST", "/api/users", body)
    barrier = threading.Barrier(16)
    answers: list[Answer] = []

    def grant() -> Answer:
        granted = ledger.grant_access(c.GrantAccess(**body), SYSTEM)
        time.sleep(0.05)  # the others look the key up meanwhile, and find nothing yet
        return Answer(201, b"{}", str(granted.position).encode())

    def client() -> None:
        barrier.wait()
        answers.append(run_once(ledger, str(people.admin.user_id), "one-key", fingerprint, grant))

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 16
    assert sum(not a.replayed for a in answers) == 1
    assert ledger.position() == head + 1
    # a hole shows once a later event is written: the next one follows on at once
    assert register(ledger, people) == head + 3
    assert contiguous(ledger)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_position_that_would_leave_a_hole_is_refused_by_the_database(
    ledger: Ledger, people: People, database_url: str
) -> None:
    head = ledger.position()
    engine = sa.create_engine(database_url)
    try:
        insert = sa.text(
            "INSERT INTO ledger_events (id, originator_id, originator_version, topic, state) "
            "VALUES (:id, :oid, 1, 'forged', '{}')"
        )
        with (
            pytest.raises(sa.exc.IntegrityError, match="would leave a hole"),
            engine.begin() as connection,
        ):
            connection.execute(insert, {"id": head + 2, "oid": str(uuid.uuid4())})
        assert ledger.position() == head
    finally:
        engine.dispose()
    assert register(ledger, people) == head + 2
