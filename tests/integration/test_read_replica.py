"""Reports read from a PostgreSQL streaming replica (README, "Growing past one machine").

A host that serves reports from a hot standby is an app whose projections are folded
elsewhere (``create_app(…, board=…)``, as an HTTP worker of ``ledger serve --workers N``): it
never writes. The follower folds on the primary; the read models and their tracking rows
reach the replica with the WAL. So a command answered by the primary, read on the replica
with ``min_position``, waits until the replica has replayed its fold (the tracking row, read
on the replica, says so), then answers it: read-your-writes across machines, with the
engine's own replication. Commands still go to the primary (a standby refuses every write).

Bounded: the primary and the replica are made, started and removed in about ten seconds.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

import migrations
from api.app import create_app
from ledger.service import Ledger
from projections.health import Board, Worker
from tests.support.people import auth, grant_people
from tests.support.replica import Pair, primary_and_replica, unavailable

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    why = unavailable()
    if why is not None:
        pytest.skip(f"no replica can be made here: {why}")
    with primary_and_replica(prepare=migrations.upgrade) as made:
        yield made


def enterprise_body() -> dict[str, Any]:
    return {
        "tax_code": str(uuid.uuid4().int)[:10],
        "name": "Công ty TNHH Sao Mai",
        "district": "QH-CAUGIAY",
        "sector": "industry",
        "size": "small",
    }


def test_a_report_read_on_a_replica_with_min_position_sees_a_write_to_the_primary(
    pair: Pair, tmp_path: Path
) -> None:
    primary, replica = Ledger(pair.primary_url), Ledger(pair.replica_url)
    with replica.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_is_in_recovery()")).scalar() is True
    board = Board(tmp_path / "background.json")  # the primary host's follower, running
    follower, snapshots = Worker("projections-follow"), Worker("replay-snapshots")
    follower.started(threading.current_thread())
    snapshots.started(threading.current_thread())
    board.publish(follower, snapshots, workers=1)
    try:
        people = grant_people(primary)
        officer = auth(people, "officer")
        with (
            TestClient(create_app(primary, follow=True)) as on_primary,
            TestClient(create_app(replica, board=board)) as on_replica,
        ):
            for _ in range(3):
                written = on_primary.post(
                    "/api/enterprises", json=enterprise_body(), headers=officer
                )
                assert written.status_code == 201, written.text
                position = written.json()["position"]
                read = on_replica.get(
                    "/api/reports/audit-trail",
                    params={"min_position": position, "order": "desc", "page_size": 1},
                    headers=officer,
                )
                assert read.status_code == 200, read.text
                answer = read.json()
                assert answer["position"] >= position and "stale" not in answer, answer
                assert answer["rows"][0]["position"] == position
            # the replica's own health: the head of the log as replayed there
            health = on_replica.get("/api/health").json()
            assert health["position"] >= position and health["status"] == "ok", health
    finally:
        primary.engine.dispose()
        replica.engine.dispose()
