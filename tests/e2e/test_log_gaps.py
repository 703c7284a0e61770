"""A log with a hole left by the code before migration 0005, as an operator and an inspector
meet it: over HTTP a clear 503 ``log_has_hole`` (never a 500, never a checkpoint of a tree
the log has outgrown), on the command line one line and a non-zero exit; then ``ledger db
record-gaps`` records the hole and every audit path works again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger import checkpoint as cp
from ledger.service import Ledger
from tests.support.cli import one_line_error, run
from tests.support.people import People, auth
from tests.support.story import Story
from tests.support.tampering import Superuser, burn_a_position


@pytest.fixture
def key_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"LEDGER_SIGNING_KEY": str(tmp_path / "signing.pem"), "LEDGER_ORIGIN": "gaps.test"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cp.init_key()
    return env


@pytest.fixture
def holed(ledger: Ledger, people: People, database_url: str) -> Iterator[int]:
    """A ledger whose log skips one position, then goes on; the hole."""
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)
    superuser = Superuser(database_url)
    try:
        hole = burn_a_position(superuser, ledger)
    finally:
        superuser.close()
    story.budget(5_000_000, year=2016)
    yield hole


def test_an_unrecorded_hole_answers_503_until_an_operator_records_it(
    ledger: Ledger, people: People, holed: int, key_env: dict[str, str], database_url: str
) -> None:
    head = ledger.position()
    with TestClient(create_app(ledger)) as client:
        # Step 1: no checkpoint of a tree the log has outgrown, no 500 for a proof.
        made = client.post("/api/audit/checkpoints", headers=auth(people, "inspector"))
        assert made.status_code == 503, made.text
        assert made.json()["code"] == "log_has_hole"
        assert f"skips position {holed}" in made.json()["detail"]
        proof = client.get(
            f"/api/audit/proofs/inclusion?position={holed + 1}", headers=auth(people, "inspector")
        )
        assert proof.status_code == 503 and proof.json()["code"] == "log_has_hole"
        assert client.get("/api/audit/checkpoints", headers=auth(people)).json() == []

        # Step 2: verification names the hole (it cannot tell it from a deleted event).
        verified = client.get("/api/audit/verify", headers=auth(people, "inspector")).json()
        assert [(p["kind"], p["position"]) for p in verified["problems"]] == [("missing", holed)]

        # Step 3: the command line says the same in one line, and exits non-zero.
        assert f"skips position {holed}" in one_line_error(
            run(database_url, "projections", "rebuild", "merkle")
        )
        assert f"skips position {holed}" in one_line_error(run(database_url, "checkpoint"))
        assert "ledger db record-gaps" in one_line_error(
            run(
                database_url,
                "export",
                "events",
                "--out",
                str(Path(key_env["LEDGER_SIGNING_KEY"]).parent / "log.jsonl"),
            )
        )

        # Step 4: the operator looks, then records the hole.
        listed = run(database_url, "db", "record-gaps", "--dry-run")
        assert listed.exit_code == 0, listed.output
        assert f"1 hole(s) would be recorded: {holed}." in listed.stdout
        recorded = run(database_url, "db", "record-gaps", "--reason", "rolled back in 2025")
        assert recorded.exit_code == 0, recorded.output
        assert "Recorded 1 hole(s) at " in recorded.stdout and f": {holed}." in recorded.stdout
        again = run(database_url, "db", "record-gaps")
        assert "nothing to record" in again.stdout

        # Step 5: every audit path works again, at the head of the log.
        made = client.post("/api/audit/checkpoints", headers=auth(people, "inspector"))
        assert made.status_code == 201, made.text
        assert made.json()["tree_size"] == head
        proof = client.get(
            f"/api/audit/proofs/inclusion?position={holed}", headers=auth(people, "inspector")
        )
        assert proof.status_code == 200, proof.text
        verified = client.get("/api/audit/verify", headers=auth(people, "inspector")).json()
        assert verified["problems"] == [] and verified["checked"] == head
    assert run(database_url, "verify").exit_code == 0
    rebuilt = run(database_url, "projections", "rebuild", "merkle")
    assert rebuilt.exit_code == 0, rebuilt.output
    log = Path(key_env["LEDGER_SIGNING_KEY"]).parent / "log.jsonl"
    exported = run(database_url, "export", "events", "--out", str(log))
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    assert [line["position"] for line in lines] == list(range(1, head + 1))
    assert lines[holed - 1]["gap"] is True and lines[holed - 1]["reason"] == "rolled back in 2025"


def test_db_upgrade_tells_of_holes_not_recorded(holed: int, database_url: str) -> None:
    upgraded = run(database_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "Run `ledger db record-gaps`" in upgraded.stderr and f"first: {holed}" in upgraded.stderr


def test_projections_check_fails_while_a_projection_is_stuck(holed: int, database_url: str) -> None:
    caught_up = run(database_url, "projections", "catch-up")  # progress bars, then the error
    assert caught_up.exit_code == 1 and "Traceback" not in caught_up.output
    assert f"skips position {holed}" in caught_up.stderr.strip().splitlines()[-1]
    checked = run(database_url, "projections", "check")
    assert checked.exit_code == 1
    assert "merkle: failed at position" in checked.stdout and "GapInLog" in checked.stdout

    assert run(database_url, "db", "record-gaps").exit_code == 0
    assert run(database_url, "projections", "catch-up").exit_code == 0
    checked = run(database_url, "projections", "check")
    assert checked.exit_code == 0, checked.output
