"""Names beside the ids over HTTP: an admin renames a user or moves them to another
department (``POST /api/users/{id}/change``); the audit trail (live and past), its files and an
application's history then show each event's actor by name as they were when it was recorded,
to admins and inspectors only (a name is personnel data); every role keeps the ids and
departments it saw before."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from starlette.testclient import TestClient

from ledger import catalogue
from ledger.access import PERSONNEL_READERS
from ledger.service import Ledger
from tests.support.evidence import HEADERS, read_csv, read_xlsx
from tests.support.people import People, auth
from tests.support.renames import NEW_NAME, OLD_NAME, Renamed

REPORT = "/api/reports/audit-trail"


def trail(client: TestClient, people: People, role: str, **params: Any) -> dict[str, Any]:
    answer = client.get(REPORT, params={"page_size": 500, **params}, headers=auth(people, role))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["next_page"] is None
    return body


def shown(rows: list[dict[str, Any]], renamed: Renamed) -> dict[int, tuple[str | None, str]]:
    by_position = {row["position"]: row for row in rows}
    return {
        p: (by_position[p]["actor_name"], by_position[p]["department"]) for p in renamed.expected
    }


@pytest.fixture
def renamed(ledger: Ledger, people: People) -> Renamed:
    return Renamed(ledger, people).build()


def test_an_admin_renames_and_moves_a_user_and_nobody_else_may(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    officer = people.officer.user_id
    path = f"/api/users/{officer}/change"
    body = {"name": NEW_NAME, "department": "SCT", "reason": "Điều chuyển công tác"}
    for role in catalogue.ROLES:
        if role != "admin":
            answer = client.post(path, json=body, headers=auth(people, role))
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), role
    head = ledger.position()
    refusals = [
        (path, {"name": people.officer.name, "reason": "x"}, 409, "invalid_transition"),
        (path, {"name": None, "department": None, "reason": "x"}, 422, "validation_error"),
        (path, {"department": "SKHCNN", "reason": "x"}, 422, "validation_error"),
        (path, {"name": "Ai Đó"}, 422, "validation_error"),
        (path, {"name": "Ai Đó", "role": "admin", "reason": "x"}, 422, "validation_error"),
        (f"/api/users/{uuid4()}/change", {"name": "Ai Đó", "reason": "x"}, 404, "not_found"),
    ]
    for where, sent, status, code in refusals:
        answer = client.post(where, json=sent, headers=auth(people, "admin"))
        assert (answer.status_code, answer.json()["code"]) == (status, code), (sent, answer.text)
        assert answer.json()["detail"]
    assert ledger.position() == head, "a refused change writes nothing"

    answer = client.post(path, json=body, headers=auth(people, "admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": officer, "position": head + 1}
    [user] = [
        u
        for u in client.get("/api/users", headers=auth(people, "admin")).json()
        if u["id"] == officer
    ]
    assert (user["name"], user["department"], user["active"]) == (NEW_NAME, "SCT", True)
    me = client.get(REPORT, params={"page_size": 1}, headers=auth(people, "officer"))
    assert me.status_code == 200, "the token keeps working"


@pytest.mark.parametrize("role", catalogue.ROLES)
def test_the_trail_names_actors_as_they_were_then_to_those_who_read_personnel_data(
    client: TestClient, ledger: Ledger, people: People, renamed: Renamed, role: str
) -> None:
    head = ledger.position()
    live = trail(client, people, role, min_position=head)["rows"]
    everything = trail(client, people, "inspector", min_position=head)["rows"]
    if role in PERSONNEL_READERS:
        assert shown(live, renamed) == renamed.expected
        assert all(row["actor_name"] for row in live)
        assert live == everything
    else:
        assert {row["actor_name"] for row in live} == {None}
        kept = ("position", "record_id", "event_type", "actor", "department", "department_name")
        assert [[r[k] for k in kept] for r in live] == [[r[k] for k in kept] for r in everything]
        text = repr(live)
        assert OLD_NAME not in text and NEW_NAME not in text
    # the department names are no personnel data: the same for everyone
    assert [r["department_name"] for r in live] == [r["department_name"] for r in everything]

    # Past views give the same names: before the move, and at the head.
    for known_at in (renamed.moved_at - 1, head):
        past = trail(client, people, role, as_known_at=known_at)
        assert past["view"]["position"] == known_at
        assert past["rows"] == [r for r in live if r["position"] <= known_at]


def test_the_history_and_the_files_name_actors_only_for_those_who_may_read_it(
    client: TestClient, ledger: Ledger, people: People, renamed: Renamed
) -> None:
    history_path = f"/api/applications/{renamed.application_id}/history"
    name, department = HEADERS.index("Họ tên người thực hiện"), HEADERS.index("Đơn vị")
    for role in ("inspector", "leader", "viewer"):
        history = client.get(history_path, headers=auth(people, role)).json()
        names = [(e["actor_name"], e["department"]) for e in history]
        if role in PERSONNEL_READERS:
            assert names == [
                (OLD_NAME, "SKHCN"),
                (NEW_NAME, "SKHCN"),
                (people.approver.name, "SKHCN"),
                (NEW_NAME, "SCT"),
            ]
        else:
            assert names == [(None, "SKHCN")] * 3 + [(None, "SCT")]

        head = {"min_position": ledger.position()}
        answer = client.get(f"{REPORT}.csv", params=head, headers=auth(people, role))
        _, _, rows = read_csv(answer.content)
        answer = client.get(f"{REPORT}.xlsx", params=head, headers=auth(people, role))
        _, _, cells = read_xlsx(answer.content)
        for file_rows in (rows, [[c.value or "" for c in row] for row in cells]):
            by_position = {int(row[0]): row for row in file_rows}
            files = {
                p: (by_position[p][name], by_position[p][department]) for p in renamed.expected
            }
            if role in PERSONNEL_READERS:
                assert files == renamed.expected
            else:
                assert files == {p: ("", d) for p, (_, d) in renamed.expected.items()}


def test_the_openapi_document_lists_the_names_beside_the_ids(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("AuditRowOut", "HistoryEntryOut"):
        properties = schemas[model]["properties"]
        assert {"actor", "actor_name", "department", "department_name"} <= set(properties)
        assert "personnel" in properties["actor_name"]["description"]
        assert {"actor_name", "department_name"} <= set(schemas[model]["required"])
    body = schemas["ChangeUser"]["properties"]
    assert {"name", "department", "reason"} <= set(body)
