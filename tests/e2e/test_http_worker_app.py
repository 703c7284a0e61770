"""The app of an HTTP worker of ``ledger serve --workers N`` (``create_app(…, board=…)``):
another process runs the live follower and publishes its health on a board.

Such an app never folds the live projections (their tracking rows have one writer, that
follower): a report asked with ``min_position`` waits for the tracking row, in the database,
to reach it, and answers ``stale`` if no follower does in time; once a follower over
ANOTHER engine (as in another process) folds, it answers at once. Its ``/api/health`` and
``/api/health/ready`` say what the board says, and which process answered.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from ledger.service import Ledger
from projections.health import Board, Worker
from projections.projector import Projector
from tests.support.people import People, auth


def enterprise_body() -> dict[str, Any]:
    return {
        "tax_code": str(uuid.uuid4().int)[:10],
        "name": "Công ty TNHH Phúc Hưng",
        "district": "QH-CAUGIAY",
        "sector": "industry",
        "size": "small",
    }


def tracking_rows(url: str) -> list[tuple[str, int, Any]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            query = sa.text("SELECT name, position, updated_at FROM projection_state ORDER BY name")
            return [tuple(row) for row in connection.execute(query)]
    finally:
        engine.dispose()


@pytest.fixture
def board(tmp_path: Path) -> Board:
    """A board as the supervisor publishes it: its follower and snapshot maker running, two
    HTTP workers."""
    board = Board(tmp_path / "background.json")
    follower, snapshots = Worker("projections-follow"), Worker("replay-snapshots")
    follower.started(threading.current_thread())
    snapshots.started(threading.current_thread())
    board.publish(follower, snapshots, workers=2)
    return board


@pytest.fixture
def other_process(database_url: str) -> Iterator[Ledger]:
    """The ledger as the supervisor's process holds it: its own engine on the database."""
    other = Ledger(database_url)
    yield other
    other.engine.dispose()


def test_a_worker_never_folds_and_reads_what_the_follower_of_another_process_folded(
    ledger: Ledger, people: People, board: Board, other_process: Ledger, database_url: str
) -> None:
    officer = auth(people, "officer")
    follower = Projector(other_process)  # made first, as the supervisor's (its tracking rows)
    with TestClient(create_app(ledger, board=board)) as client:
        # Step 1: no follower runs: a command is stored, but a report asked with its
        # position waits, then answers stale; no tracking row moved.
        before = tracking_rows(database_url)
        written = client.post("/api/enterprises", json=enterprise_body(), headers=officer)
        assert written.status_code == 201, written.text
        position = written.json()["position"]
        params = {"min_position": position, "order": "desc", "page_size": 1}
        stale = client.get("/api/reports/audit-trail", params=params, headers=officer).json()
        assert stale["stale"] is True and stale["position"] < position, stale
        assert tracking_rows(database_url) == before

        # Step 2: the follower of "another process" (another engine) folds the log: the
        # same report is read at once.
        follower.catch_up()
        fresh = client.get("/api/reports/audit-trail", params=params, headers=officer).json()
        assert fresh["position"] >= position and "stale" not in fresh, fresh
        assert fresh["rows"][0]["position"] == position

        # Step 3: a follower that runs while the reader waits is waited for.
        stop = threading.Event()
        following = threading.Thread(target=follower.follow, args=(stop,))
        following.start()
        try:
            again = client.post("/api/enterprises", json=enterprise_body(), headers=officer)
            params["min_position"] = again.json()["position"]
            read = client.get("/api/reports/audit-trail", params=params, headers=officer)
            assert "stale" not in read.json(), read.json()
        finally:
            stop.set()
            following.join(timeout=10)


def test_a_worker_says_what_the_board_says(ledger: Ledger, board: Board) -> None:
    with TestClient(create_app(ledger, board=board)) as client:
        health = client.get("/api/health").json()
        assert health["server"] == {"pid": os.getpid(), "workers": 2}
        assert health["follower"]["state"] == "running"
        assert health["follower"]["pid"] == os.getpid()  # the board's publisher: this test

        # the process that publishes the board has stopped: the follower is dead, the
        # worker not ready
        board.stale_after = 0.0
        health = client.get("/api/health").json()
        assert health["status"] == "degraded"
        assert health["follower"]["state"] == "dead", health["follower"]
        assert f"pid {os.getpid()}" in health["follower"]["last_error"]
        refused = client.get("/api/health/ready")
        assert refused.status_code == 503 and refused.json()["code"] == "not_ready"
        assert "the live projections have stopped" in refused.json()["detail"]


def test_a_worker_whose_board_is_unreadable_says_its_follower_is_dead(
    ledger: Ledger, tmp_path: Path
) -> None:
    board = Board(tmp_path / "missing.json")
    with TestClient(create_app(ledger, board=board)) as client:
        health = client.get("/api/health").json()
        assert health["follower"]["state"] == "dead"
        assert "cannot be read" in health["follower"]["last_error"]
        assert client.get("/api/health/ready").status_code == 503


def test_an_app_that_follows_says_it_runs_its_follower_itself(ledger: Ledger) -> None:
    with TestClient(create_app(ledger, follow=True)) as client:
        health = client.get("/api/health").json()
        assert health["server"] == {"pid": os.getpid(), "workers": 1}
        assert health["follower"]["pid"] == os.getpid()
    with TestClient(create_app(ledger)) as client:  # nobody follows
        assert client.get("/api/health").json()["follower"] | {"since": None} == {
            "state": "off",
            "since": None,
            "last_error": None,
            "last_success": None,
            "retry_in": None,
            "pid": None,
        }
