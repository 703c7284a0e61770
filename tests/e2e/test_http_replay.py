"""Reports over HTTP as known at a past position or time and as of a business date.

Every report endpoint takes ``as_known_at`` (a UTC time or a position) and ``as_of`` (a date);
the answer says which view it is. Bad values are 422 problems naming the parameter, never 500.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from ledger.service import Ledger
from tests.support.http import REPORTS, SHAPED_REPORTS
from tests.support.people import People, auth
from tests.support.scenario import Scenario


def without_root(view: dict[str, Any]) -> dict[str, Any]:
    """A past view without its ``root_hash`` (checked to be a Merkle root: 64 hex digits)."""
    rest = dict(view)
    root = rest.pop("root_hash")
    assert isinstance(root, str) and re.fullmatch("[0-9a-f]{64}", root), root
    return rest


def get(client: TestClient, people: People, path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers=auth(people))


def city_2015(body: dict[str, Any]) -> dict[str, Any]:
    [row] = [r for r in body["rows"] if r["source"] == "city_budget" and r["budget_year"] == 2015]
    return row


def test_project_spend_as_known_at_and_as_of_over_http(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    # Step 1: a line and a contracted application; the live report at that position P.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    app = scenario.contracted(city=60_000_000)
    position = ledger.position()
    then = get(client, people, "/api/reports/project-spend", min_position=position).json()
    assert "view" not in then
    time.sleep(0.01)
    moment = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)

    # Step 2: an advance is paid (1 April 2015).
    scenario.pay(app, 20_000_000, "advance")
    now = get(client, people, "/api/reports/project-spend", min_position=ledger.position())
    assert city_2015(now.json())["disbursed"] == 20_000_000

    # Step 3: as known at P (a position, then a time): the report read then, and the view.
    by_position = get(client, people, "/api/reports/project-spend", as_known_at=position)
    assert by_position.status_code == 200, by_position.text
    body = by_position.json()
    assert without_root(body["view"]) == {
        "as_known_at": position,
        "as_of": None,
        "position": position,
    }
    assert (body["position"], body["rows"]) == (then["position"], then["rows"])
    by_time = get(client, people, "/api/reports/project-spend", as_known_at=moment).json()
    assert by_time["view"]["position"] == position
    assert by_time["view"]["as_known_at"].endswith("Z")
    assert by_time["rows"] == then["rows"]

    # Step 4: as of 31 March the advance (1 April) is left out; the view says so.
    march = get(client, people, "/api/reports/project-spend", as_of="2015-03-31").json()
    assert without_root(march["view"]) == {
        "as_known_at": None,
        "as_of": "2015-03-31",
        "position": ledger.position(),
    }
    assert (city_2015(march)["committed"], city_2015(march)["disbursed"]) == (60_000_000, 0)


@pytest.mark.parametrize("path", REPORTS)
def test_every_report_takes_as_known_at_and_as_of(
    client: TestClient, ledger: Ledger, people: People, path: str
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.settled()
    head = ledger.position()
    live = get(client, people, path, min_position=head).json()
    answer = get(client, people, path, as_known_at=head, as_of="2030-12-31")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert without_root(body.pop("view")) == {
        "as_known_at": head,
        "as_of": "2030-12-31",
        "position": head,
    }
    assert body == live


@pytest.mark.parametrize(("template", "path", "needs"), SHAPED_REPORTS)
def test_the_period_and_year_reports_take_as_known_at_and_as_of(
    client: TestClient,
    ledger: Ledger,
    people: People,
    template: str,
    path: str,
    needs: dict[str, Any],
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.settled()
    head = ledger.position()
    live = get(client, people, path, min_position=head, **needs).json()
    answer = get(client, people, path, as_known_at=head, as_of="2030-12-31", **needs)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    view = body.pop("view")
    assert without_root(view) == {"as_known_at": head, "as_of": "2030-12-31", "position": head}
    assert view["root_hash"] == body["evidence"]["root_hash"] == live["evidence"]["root_hash"]
    assert body == live


def test_bad_view_parameters_are_422_problems_that_name_the_parameter(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    Scenario(ledger, people).budget()
    head = ledger.position()
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"as_known_at": "yesterday"}, "as_known_at"),
        ({"as_known_at": "2026-13-01T10:00:00Z"}, "as_known_at"),
        ({"as_known_at": "2026-11-25T10:00:00"}, "as_known_at"),  # no time zone
        ({"as_known_at": "2026-11-25"}, "as_known_at"),  # a date is not a time
        ({"as_known_at": "0"}, "as_known_at"),
        ({"as_known_at": "-3"}, "as_known_at"),
        ({"as_known_at": str(head + 1)}, "as_known_at"),
        ({"as_known_at": "99999999999999999999999"}, "as_known_at"),
        ({"as_known_at": future}, "as_known_at"),
        ({"as_of": "2015-02-30"}, "as_of"),
        ({"as_of": "31/12/2015"}, "as_of"),
        ({"as_of": "2015-12-31T00:00:00"}, "as_of"),
        ({"as_of": "0"}, "as_of"),
        ({"as_known_at": str(head), "min_position": str(head)}, "min_position"),
        ({"as_of": "2015-12-31", "min_position": "1"}, "min_position"),
    ]
    shaped = [(path, needs) for _, path, needs in SHAPED_REPORTS]
    for path, needs in [*((p, {}) for p in REPORTS), *shaped]:
        for params, name in cases:
            answer = client.get(path, params={**needs, **params}, headers=auth(people))
            assert answer.status_code == 422, (path, params, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["code"] == "validation_error"
            assert ["query", name] in [e["loc"] for e in problem["errors"]], (params, problem)
            assert name in problem["detail"], problem["detail"]


def test_the_view_parameters_are_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path in REPORTS:
        operation = document["paths"][path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["as_of"]["schema"]["format"] == "date"
        known_at = parameters["as_known_at"]["schema"]
        assert known_at["type"] == "string" and "pattern" in known_at
        assert "view" in operation["summary"]
