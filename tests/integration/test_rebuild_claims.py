"""A rebuild's claim belongs to the process that rebuilds: while it lives, every other rebuild
is refused at once (409 ``rebuild_in_progress``); the moment it is killed, the claim is gone,
the next rebuild runs, and the half-built tables it left are never read.

The rebuild here runs in a process of its own and is killed with SIGKILL half-way (after its
first batch), as an operator's Ctrl-C-less ``kill -9`` or an out-of-memory kill would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger.service import Ledger
from projections.check import check
from projections.claims import RebuildInProgress
from projections.projector import Projector
from tests.support.people import People, auth
from tests.support.story import Story

ROOT = Path(__file__).resolve().parents[2]

#: a rebuild of the audit trail in batches of 5 that stops for good after its first batch
HALF_WAY = """
import sys, threading
from ledger.service import Ledger
from projections.projector import Projector

def stop_here(name, position, head):
    print("half-way", position, flush=True)
    threading.Event().wait()

Projector(Ledger(sys.argv[1])).rebuild("audit_trail", batch_size=5, progress=stop_here)
"""


@pytest.fixture
def half_built(story: Story, projector: Projector, database_url: str) -> Iterator[int]:
    """A rebuild of the audit trail, half-way, in a process of its own; its pid."""
    projector.catch_up()
    process = subprocess.Popen(
        [sys.executable, "-c", HALF_WAY, database_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("half-way"), process.stderr.read() if process.stderr else line
        yield process.pid
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # waits, and closes its pipes


def test_a_live_rebuild_holds_its_claim_and_a_killed_one_lets_go_at_once(
    half_built: int, projector: Projector, ledger: Ledger
) -> None:
    # Step 1: while the rebuilding process lives, another rebuild is refused at once.
    [status] = [s for s in projector.status() if s.name == "audit_trail"]
    assert status.rebuilding and status.rebuild_position is not None
    with pytest.raises(RebuildInProgress, match="audit_trail is being rebuilt"):
        projector.rebuild("audit_trail")

    # Step 2: the process is killed half-way; its claim goes with it.
    os.kill(half_built, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(s.rebuilding for s in projector.status()) and time.monotonic() < deadline:
        time.sleep(0.05)
    [status] = [s for s in projector.status() if s.name == "audit_trail"]
    assert not status.rebuilding and status.rebuild_position is None

    # Step 3: the next rebuild runs at once, and the read models reconcile.
    before = projector.snapshot("audit_trail")
    assert projector.rebuild("audit_trail") == ledger.position()
    assert projector.snapshot("audit_trail") == before
    assert check(ledger, projector) == []


def test_a_rebuild_asked_over_http_while_another_runs_is_409(
    half_built: int, ledger: Ledger, people: People
) -> None:
    with TestClient(create_app(ledger)) as client:
        refused = client.post(
            "/api/admin/projections/audit_trail/rebuild", headers=auth(people, "admin")
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "rebuild_in_progress"
        os.kill(half_built, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while True:
            started = client.post(
                "/api/admin/projections/audit_trail/rebuild", headers=auth(people, "admin")
            )
            if started.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert started.status_code == 200, started.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            listed = client.get("/api/admin/projections", headers=auth(people, "admin")).json()
            [row] = [r for r in listed if r["name"] == "audit_trail"]
            if not row["rebuilding"] and row["position"] == ledger.position():
                break
            time.sleep(0.05)
        assert not row["rebuilding"] and row["last_error"] is None
        assert row["position"] == ledger.position()
