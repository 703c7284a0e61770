"""Who holds which access is personnel data: only admins and inspectors read it, in
``GET /api/users`` and in the audit trail alike (its JSON report, live and past, and its XLSX
and CSV files). For every other role the audit trail keeps each User row, with its position,
times, record, event type, actor and leaf hash, but withholds what it says (a row left out
would look like a deleted event), and no row names its actor (the id and department stay)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger import catalogue
from ledger import commands as c
from ledger.access import PERSONNEL_READERS, SYSTEM
from ledger.service import Ledger
from projections.audit_trail import WITHHELD
from tests.support.evidence import HEADERS, read_csv, read_xlsx
from tests.support.people import People, auth
from tests.support.scenario import Scenario

REPORT = "/api/reports/audit-trail"
PERSONNEL_RECORDS = {"User", "Administrators"}
ACTOR, ACTOR_NAME = HEADERS.index("Người thực hiện"), HEADERS.index("Họ tên người thực hiện")
SUMMARY, LEAF = HEADERS.index("Diễn giải"), HEADERS.index("Mã băm lá")


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger)) as client:
        yield client


@pytest.fixture
def history(ledger: Ledger, people: People) -> int:
    """Users granted and revoked (an admin's too), around some money; the last position."""
    Scenario(ledger, people).budget()
    second = ledger.grant_access(
        c.GrantAccess(name="Trịnh Quản Trị", role="admin", department="STC"), people.admin
    )
    leaver = ledger.grant_access(
        c.GrantAccess(name="Lý Thị Rời", role="officer", department="SNNPTNT"), people.admin
    )
    ledger.revoke_access(c.RevokeAccess(user_id=leaver.user_id, reason="Kỷ luật"), people.admin)
    ledger.revoke_access(c.RevokeAccess(user_id=second.user_id, reason="Nghỉ hưu"), people.admin)
    return ledger.position()


def personnel_words(ledger: Ledger) -> set[str]:
    """What the trail may not show others: every user's name, a grantee's department that no
    other row names, the reasons of revocations (and no row of a personnel record says more
    than :data:`WITHHELD`, checked below: roles are words of that sentence)."""
    words = {"Kỷ luật", "Nghỉ hưu", "SNNPTNT"}
    return words | {user["name"] for user in ledger.list_users()}


def every_row(client: TestClient, role: str, people: People, **params: Any) -> dict[str, Any]:
    answer = client.get(REPORT, params={"page_size": 500, **params}, headers=auth(people, role))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["next_page"] is None
    return body


def test_only_admins_and_inspectors_list_users(client: TestClient, people: People) -> None:
    assert {"admin", "inspector"} == PERSONNEL_READERS
    for role in catalogue.ROLES:
        answer = client.get("/api/users", headers=auth(people, role))
        if role in PERSONNEL_READERS:
            assert answer.status_code == 200, role
            assert {u["name"] for u in answer.json()} >= {"Quản trị", "Bùi Văn Khánh"}
        else:
            assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), role


@pytest.mark.parametrize("role", catalogue.ROLES)
def test_the_audit_trail_shows_user_events_in_full_only_to_those_who_list_users(
    role: str, client: TestClient, ledger: Ledger, people: People, history: int
) -> None:
    body = every_row(client, role, people, min_position=history)
    full = every_row(client, "admin", people, min_position=history)
    rows, all_rows = body["rows"], full["rows"]
    # Every row is there, in every role's answer: positions run 1 … head.
    assert [r["position"] for r in rows] == list(range(1, history + 1))
    personnel = [r for r in rows if r["record_type"] in PERSONNEL_RECORDS]
    assert {r["event_type"] for r in personnel} == {
        "User.Granted",
        "User.Revoked",
        "Administrators.Opened",
        "Administrators.AdminRevoked",
    }
    text = json.dumps(rows, ensure_ascii=False)
    if role in PERSONNEL_READERS:
        assert rows == all_rows
        assert "Lý Thị Rời" in text and "Kỷ luật" in text
        return
    for word in personnel_words(ledger):
        assert word not in text, word
    for mine, whole in zip(rows, all_rows, strict=True):
        assert whole["actor_name"] and mine["actor_name"] is None, "names are personnel data"
        if mine["record_type"] in PERSONNEL_RECORDS:
            withheld = ("summary", "references", "actor_name")
            kept = {k: v for k, v in whole.items() if k not in withheld}
            assert {k: v for k, v in mine.items() if k not in withheld} == kept
            assert (mine["summary"], mine["references"]) == (WITHHELD, {})
        else:
            assert mine == {**whole, "actor_name": None}
    # Filtering on a User event type keeps the rows, withheld.
    granted = every_row(client, role, people, event_type="User.Granted")["rows"]
    assert len(granted) == len(ledger.list_users())
    assert all(r["summary"] == WITHHELD for r in granted)


@pytest.mark.parametrize("role", ["viewer", "finance", "inspector"])
def test_past_views_of_the_audit_trail_follow_the_same_rule(
    role: str, client: TestClient, ledger: Ledger, people: People, history: int
) -> None:
    for params in ({"as_known_at": history}, {"as_of": "2099-01-01"}, {"as_known_at": history - 1}):
        body = every_row(client, role, people, **params)
        assert "view" in body
        text = json.dumps(body["rows"], ensure_ascii=False)
        shown = "Lý Thị Rời" in text
        assert shown == (role in PERSONNEL_READERS), (role, params)
        assert [r["position"] for r in body["rows"]] == list(range(1, body["position"] + 1))


@pytest.mark.parametrize("role", ["viewer", "officer", "inspector", "admin"])
def test_the_audit_trail_files_follow_the_same_rule(
    role: str,
    client: TestClient,
    ledger: Ledger,
    people: People,
    history: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    words = personnel_words(ledger)
    for suffix in ("csv", "xlsx"):
        answer = client.get(
            f"{REPORT}.{suffix}", params={"min_position": history}, headers=auth(people, role)
        )
        assert answer.status_code == 200, answer.text
        if suffix == "csv":
            _, _, rows = read_csv(answer.content)
            cells = [[str(v) for v in row] for row in rows]
        else:
            _, _, xlsx_rows = read_xlsx(answer.content)
            cells = [
                ["" if cell.value is None else str(cell.value) for cell in row] for row in xlsx_rows
            ]
        assert [int(row[0]) for row in cells] == list(range(1, history + 1))
        text = "\n".join("\t".join(row) for row in cells)
        leaves = [row[LEAF] for row in cells]
        assert all(len(leaf) == 64 for leaf in leaves), "every row keeps its leaf hash"
        if role in PERSONNEL_READERS:
            assert "Lý Thị Rời" in text and "Kỷ luật" in text
            named = {row[ACTOR_NAME] for row in cells}
            assert named == {SYSTEM.name, people.admin.name, people.finance.name}
        else:
            for word in words:
                assert word not in text, (suffix, word)
            users = [row for row in cells if row[3] in PERSONNEL_RECORDS]
            assert users and all(row[SUMMARY] == WITHHELD for row in users)
            assert UUID(users[0][4])  # the record's id stays
            assert all(row[ACTOR] and row[ACTOR_NAME] == "" for row in cells), "ids, no names"
