"""A lost database connection (PostgreSQL: the server terminates it, restarts, or the network
drops it) is survived: a command whose transaction never reached COMMIT runs again once on a
fresh connection; one lost during COMMIT is looked up, never run twice; past that the caller
gets 503 ``storage_unavailable`` and nothing is written. The live follower reconnects and
catches up, and says meanwhile that it is retrying.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest
import sqlalchemy as sa

from api.problems import status_of
from ledger import commands as c
from ledger.errors import StorageUnavailable
from ledger.service import Ledger, Written
from projections.projector import Projector
from tests.support.names import unique
from tests.support.people import People, grant_people


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Ledger]:
    ledger = Ledger(pg_url)
    yield ledger
    ledger.engine.dispose()


@pytest.fixture
def people(pg_ledger: Ledger) -> People:
    return grant_people(pg_ledger)


def enterprise(tax_code: str | None = None) -> c.RegisterEnterprise:
    return c.RegisterEnterprise(
        tax_code=tax_code or str(uuid.uuid4().int)[:10],
        name=unique("Công ty"),
        district="QH-CAUGIAY",
        sector="industry",
        size="small",
    )


def terminate(url: str, pid: int) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        engine.dispose()


def terminate_every_other(url: str) -> int:
    """Terminate every connection to the test's database but this one; answer how many."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return len(
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


def positions(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as connection:
        return list(
            connection.execute(sa.text("SELECT id FROM ledger_events ORDER BY id")).scalars()
        )


def test_a_command_whose_connection_is_lost_before_commit_runs_once_more_on_a_fresh_one(
    pg_ledger: Ledger, people: People, pg_url: str
) -> None:
    cmd = enterprise()
    attempts: list[int] = []

    def work() -> Written:
        with pg_ledger.session() as session:
            pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        attempts.append(pid)
        if len(attempts) == 1:
            terminate(pg_url, pid)  # the server goes away under the command, before COMMIT
        return pg_ledger.register_enterprise(cmd, people.officer)

    written = pg_ledger.execute(work)
    assert len(attempts) == 2 and attempts[0] != attempts[1]
    assert pg_ledger.get_enterprise(written.id)["tax_code"] == cmd.tax_code
    found = positions(pg_ledger)
    assert found == list(range(1, len(found) + 1)) and found[-1] == written.position


def test_a_connection_lost_twice_is_503_and_writes_nothing(
    pg_ledger: Ledger, people: People, pg_url: str
) -> None:
    head = pg_ledger.position()

    def work() -> Written:
        with pg_ledger.session() as session:
            pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        terminate(pg_url, pid)
        return pg_ledger.register_enterprise(enterprise(), people.officer)

    with pytest.raises(StorageUnavailable) as refused:
        pg_ledger.execute(work)
    assert (status_of(refused.value), refused.value.code) == (503, "storage_unavailable")
    assert refused.value.retry_after > 0 and "nothing was written" in refused.value.detail
    assert pg_ledger.position() == head


class AnswerLostAfterCommit(psycopg2.extensions.connection):
    """A real connection whose next COMMITs go through, then lose the server's answer (the
    connection drops between the server's commit and its reply)."""

    drops = 0

    def commit(self) -> None:
        super().commit()
        if AnswerLostAfterCommit.drops:
            AnswerLostAfterCommit.drops -= 1
            raise psycopg2.OperationalError("server closed the connection unexpectedly")


def test_a_command_whose_commit_answer_is_lost_is_looked_up_not_run_twice(pg_url: str) -> None:
    ledger = Ledger(pg_url)

    @sa.event.listens_for(ledger.engine, "do_connect")
    def dropping(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["connection_factory"] = AnswerLostAfterCommit

    ledger.engine.dispose()
    try:
        people = grant_people(ledger)
        cmd = enterprise()
        AnswerLostAfterCommit.drops = 1
        written = ledger.register_enterprise(cmd, people.officer)
        assert AnswerLostAfterCommit.drops == 0  # the answer was lost once
        assert ledger.get_enterprise(written.id)["tax_code"] == cmd.tax_code
        with ledger.engine.connect() as connection:
            registered = connection.execute(
                sa.text("SELECT count(*) FROM ledger_events WHERE originator_id = :id"),
                {"id": str(written.id)},
            ).scalar_one()
        assert registered == 1  # stored once, answered with its own position
        assert written.position == ledger.position()
    finally:
        AnswerLostAfterCommit.drops = 0
        ledger.engine.dispose()


def test_the_live_follower_reconnects_after_its_connections_are_terminated(
    pg_ledger: Ledger, people: People, pg_url: str
) -> None:
    projector = Projector(pg_ledger)
    stop = threading.Event()
    follower = threading.Thread(target=projector.follow, args=(stop,), daemon=True)
    follower.start()
    try:
        wait_until(lambda: all(s.lag == 0 for s in projector.status()), "first catch-up")
        assert projector.follower.current() == "running"

        # Step 1: every connection of the server is terminated (the follower's LISTEN too).
        assert terminate_every_other(pg_url) >= 1

        # Step 2: new commands (the first on a fresh connection) reach every projection.
        for _ in range(3):
            pg_ledger.register_enterprise(enterprise(), people.officer)
        head = pg_ledger.position()
        # the tracking rows reach the head a moment before the pass says it succeeded
        wait_until(
            lambda: (
                all(s.position == head for s in projector.status())
                and projector.follower.current() == "running"
            ),
            "reconnect",
        )
        assert follower.is_alive()
        assert projector.follower.last_error is not None  # it said what happened
    finally:
        stop.set()
        follower.join(timeout=15)
    assert projector.follower.current() == "stopped"


def wait_until(condition: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - the database may be out of reach a moment
            pass
        time.sleep(0.05)
    pytest.fail(f"not within {timeout} s: {what}")
