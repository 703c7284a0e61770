"""Health that tells the truth: ``/api/health`` says each projection's lag and how the
background workers are doing; ``/api/health/ready`` is 503 while current answers cannot be
served. A database out of reach is 503 ``storage_unavailable`` with ``Retry-After`` for
every request (never a 500), and once it is back the live follower catches up on its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from ledger import settings
from ledger.service import Ledger
from tests.support.databases import PG_ADMIN_URL
from tests.support.http import read_side_of
from tests.support.people import People, auth


def enterprise_body() -> dict[str, Any]:
    return {
        "tax_code": str(uuid.uuid4().int)[:10],
        "name": "Công ty TNHH Bình An",
        "district": "QH-CAUGIAY",
        "sector": "industry",
        "size": "small",
    }


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def test_a_server_whose_projections_keep_up_is_ready(ledger: Ledger, people: People) -> None:
    with TestClient(create_app(ledger, follow=True)) as client:
        eventually(
            lambda: all(p["lag"] == 0 for p in client.get("/api/health").json()["projections"]),
            "every projection at the head",
        )
        assert client.get("/api/health/ready").json() == {
            "ready": True,
            "position": ledger.position(),
        }
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["follower"]["state"] == "running"
        assert health["snapshots"]["state"] in ("running", "retrying")
        assert all(p["lag"] == 0 and p["last_error"] is None for p in health["projections"])


def test_projections_further_behind_than_the_bound_make_the_server_not_ready(
    ledger: Ledger, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.READY_MAX_LAG.name, "5")
    with TestClient(create_app(ledger)) as client:  # no follower: nothing folds
        refused = client.get("/api/health/ready")
        assert refused.status_code == 503, refused.text
        body = refused.json()
        assert body["code"] == "not_ready" and refused.headers["retry-after"]
        assert "audit_trail is 9 events behind the log (more than 5)" in body["detail"]
        assert client.get("/api/health").json()["status"] == "degraded"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_database_out_of_reach_is_503_and_the_follower_catches_up_once_it_is_back(
    ledger: Ledger, people: People, database_url: str
) -> None:
    name = sa.engine.make_url(database_url).database
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def allow(yes: bool) -> None:
        with admin.connect() as connection:
            connection.execute(
                sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(yes).lower()}')
            )
            if not yes:
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name"
                    ),
                    {"name": name},
                )

    officer = auth(people, "officer")
    try:
        with TestClient(create_app(ledger, follow=True)) as client:
            eventually(lambda: client.get("/api/health/ready").status_code == 200, "ready")

            # Step 1: the database goes away: every answer is a 503 that says when to retry.
            allow(False)
            for answer in (
                client.get("/api/health"),
                client.get("/api/health/ready"),
                client.get("/api/reports/project-spend", headers=officer),
                client.post("/api/enterprises", json=enterprise_body(), headers=officer),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["code"] in ("storage_unavailable", "not_ready")
                assert int(answer.headers["retry-after"]) > 0
            eventually(lambda: ledger_follower_state(client) == "retrying", "the follower says so")

            # Step 2: it comes back; commands are stored and the follower catches up.
            allow(True)
            eventually(
                lambda: (
                    client.post(
                        "/api/enterprises", json=enterprise_body(), headers=officer
                    ).status_code
                    == 201
                ),
                "a command stored again",
            )
            eventually(lambda: client.get("/api/health/ready").status_code == 200, "ready")
            health = client.get("/api/health").json()
            assert health["follower"]["state"] == "running"
            assert health["follower"]["last_error"]  # what happened is kept
            eventually(
                lambda: all(p["lag"] == 0 for p in client.get("/api/health").json()["projections"]),
                "every projection at the head",
            )
    finally:
        allow(True)
        admin.dispose()


def ledger_follower_state(client: TestClient) -> str:
    projector = read_side_of(client).projector
    return str(projector.follower.current())
