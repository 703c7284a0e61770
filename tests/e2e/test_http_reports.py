"""Reports over HTTP: read models with the position they reflect, read-your-writes, admin."""

from __future__ import annotations

import gc
import time
import weakref

import pytest
from starlette.testclient import TestClient

from api import reports
from api.app import create_app
from ledger.service import Ledger
from tests.support.http import REPORTS, read_side_of
from tests.support.people import People, auth
from tests.support.scenario import Scenario


def test_a_report_read_with_min_position_reflects_the_write_just_made(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    # Step 1: finance assigns a line over HTTP and learns the position of that write.
    written = client.post(
        "/api/budget-lines",
        json={
            "budget_year": 2016,
            "project": "DA3",
            "source": "city_budget",
            "amount": 900_000_000,
            "decision_no": "QĐ-9",
            "decided_on": "2016-01-04",
        },
        headers=auth(people, "finance"),
    )
    assert written.status_code == 201, written.text
    position = written.json()["position"]

    # Step 2: a viewer reads the report at that position: the new line is in it, not stale.
    answer = client.get(
        "/api/reports/project-spend",
        params={"budget_year": 2016, "project": "DA3", "min_position": position},
        headers=auth(people, "viewer"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["position"] >= position
    assert "stale" not in body
    [city] = [row for row in body["rows"] if row["source"] == "city_budget"]
    assert city["assigned"] == 900_000_000
    assert city["available"] == 900_000_000


def test_a_report_that_cannot_reach_min_position_says_it_is_stale(
    client: TestClient, ledger: Ledger, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reports, "READ_YOUR_WRITES_WAIT", 0.05)
    beyond = ledger.position() + 1_000
    started = time.monotonic()
    answer = client.get(
        "/api/reports/targets", params={"min_position": beyond}, headers=auth(people, "viewer")
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["stale"] is True
    assert body["position"] == ledger.position()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", REPORTS)
def test_every_report_answers_its_position_and_rows_to_any_valid_token(
    client: TestClient, ledger: Ledger, people: People, path: str
) -> None:
    Scenario(ledger, people).budget()
    for role in ("viewer", "inspector", "officer"):
        answer = client.get(
            path, params={"min_position": ledger.position()}, headers=auth(people, role)
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["position"] == ledger.position()
        assert isinstance(body["rows"], list)
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_report_filters_are_validated_and_never_answer_500(
    client: TestClient, people: People
) -> None:
    for path, params in (
        ("/api/reports/project-spend", {"budget_year": "abc"}),
        ("/api/reports/project-spend", {"project": "DA9"}),
        ("/api/reports/department-activity", {"department": "NOPE"}),
        ("/api/reports/audit-trail", {"order": "sideways"}),
        ("/api/reports/audit-trail", {"from": "2015-02-30"}),
        ("/api/reports/audit-trail", {"to": "0"}),  # not seconds since 1970
        ("/api/reports/audit-trail", {"from": "1700000000"}),
        ("/api/reports/audit-trail", {"to": "15/03/2015"}),
        ("/api/reports/audit-trail", {"from_": "2015-01-01"}),  # the parameter is "from"
        ("/api/reports/audit-trail.csv", {"to": "0"}),
        ("/api/reports/audit-trail", {"page": "0"}),
        ("/api/applications", {"status": "lost"}),
        ("/api/applications", {"page_size": "100000"}),
        ("/api/reports/targets", {"min_position": "-1"}),
        ("/api/reports/targets", {"unknown": "1"}),
    ):
        answer = client.get(path, params=params, headers=auth(people, "viewer"))
        assert answer.status_code == 422, (path, params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "validation_error"


def test_the_applications_register_lists_filters_and_pages(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget()
    settled = scenario.settled()
    for _ in range(2):
        scenario.submitted()
    headers = auth(people, "viewer")
    position = ledger.position()
    page = client.get(
        "/api/applications", params={"min_position": position, "page_size": 2}, headers=headers
    ).json()
    assert len(page["rows"]) == 2 and page["next_page"] == 2
    rest = client.get(
        "/api/applications", params={"page": 2, "page_size": 2}, headers=headers
    ).json()
    assert len(rest["rows"]) == 1 and rest["next_page"] is None
    only = client.get("/api/applications", params={"status": "settled"}, headers=headers).json()
    assert [row["id"] for row in only["rows"]] == [str(settled)]


def test_admins_see_projection_status_and_start_a_rebuild(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    Scenario(ledger, people).budget()
    admin = auth(people, "admin")
    assert client.get("/api/admin/projections", headers=auth(people, "viewer")).status_code == 403
    started = client.post("/api/admin/projections/journal/rebuild", headers=admin)
    assert started.status_code == 200, started.text
    assert started.json() == {"name": "journal", "rebuilding": True}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = {s["name"]: s for s in client.get("/api/admin/projections", headers=admin).json()}
        if not status["journal"]["rebuilding"] and status["journal"]["position"] > 0:
            break
        time.sleep(0.05)
    assert status["journal"]["position"] == ledger.position()
    assert status["journal"]["lag"] == 0
    assert status["journal"]["last_error"] is None
    missing = client.post("/api/admin/projections/nothing/rebuild", headers=admin)
    assert missing.status_code == 404
    assert (
        client.post(
            "/api/admin/projections/journal/rebuild", headers=auth(people, "finance")
        ).status_code
        == 403
    )


def test_a_ledger_and_its_projector_are_freed_together(database_url: str) -> None:
    ledger = Ledger(database_url)
    app = create_app(ledger)
    projector = app.state.read_side.projector
    assert app.state.read_side.projector is projector
    gone = weakref.ref(ledger)
    ledger.engine.dispose()
    del ledger, app, projector
    gc.collect()
    assert gone() is None


def test_a_report_asked_again_at_the_same_position_is_the_kept_answer(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget(100_000_000)
    side = read_side_of(client)
    side.projector.catch_up()
    viewer = auth(people, "viewer")
    first = client.get("/api/reports/project-spend", headers=viewer).json()
    kept = len(side.answers._kept)
    again = client.get("/api/reports/project-spend", headers=viewer).json()
    assert again == first and len(side.answers._kept) == kept  # given again, not read again
    # an inspector may read personnel data: another answer, kept apart
    client.get("/api/reports/project-spend", headers=auth(people, "inspector"))
    assert len(side.answers._kept) == kept + 1
    scenario.budget(50_000_000)  # a new position: the kept answer no longer applies
    side.projector.catch_up()
    moved = client.get("/api/reports/project-spend", headers=viewer).json()
    assert moved["position"] > first["position"]
    assert sum(r["assigned"] for r in moved["rows"]) == 150_000_000
