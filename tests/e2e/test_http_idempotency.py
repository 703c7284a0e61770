"""Idempotency-Key: a retried request is answered again but carried out once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from ledger import commands as c
from ledger.service import Ledger
from tests.support.people import People


def headers(people: People, role: str, key: str | None = None) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {people.tokens[role]}"}
    if key is not None:
        sent["Idempotency-Key"] = key
    return sent


def budget(amount: int = 1_000_000, project: str = "DA1") -> dict[str, Any]:
    return {
        "budget_year": 2015,
        "project": project,
        "source": "city_budget",
        "amount": amount,
        "decision_no": "QĐ-1/STC",
        "decided_on": "2015-01-05",
    }


def stored_keys(ledger: Ledger) -> list[tuple[str, str, int]]:
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT user_id, key, status_code FROM idempotency_keys ORDER BY key")
        )
        return [(r.user_id, r.key, r.status_code) for r in rows]


def test_the_same_key_and_body_answer_the_first_response_again_and_write_once(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    key = str(uuid.uuid4())
    before = ledger.position()
    first = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance", key))
    assert first.status_code == 201, first.text
    assert ledger.position() == before + 1
    # The retry: same status, same bytes, nothing new written, and it says it is a replay.
    again = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance", key))
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert ledger.position() == before + 1
    [line] = ledger.get_budget_lines(2015, "DA1", "city_budget")
    assert line["assigned"] == 1_000_000
    # The key order inside the body does not matter: it is the same request.
    reordered = dict(reversed(list(budget().items())))
    third = client.post(
        "/api/budget-lines", json=reordered, headers=headers(people, "finance", key)
    )
    assert (third.status_code, third.content) == (first.status_code, first.content)
    assert ledger.position() == before + 1
    # Without a key, the same body is a new request: an adjustment of the line.
    plain = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance"))
    assert plain.status_code == 201
    assert ledger.position() == before + 2
    assert stored_keys(ledger) == [(people.finance.user_id, key, 201)]


def test_a_replay_of_an_ordinary_command_answers_200_again(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    tax = f"{uuid.uuid4().int % 10**10:010d}"
    made = client.post(
        "/api/enterprises",
        headers=headers(people, "officer"),
        json={
            "tax_code": tax,
            "name": "Công ty A",
            "district": "QH-BADINH",
            "sector": "ict",
            "size": "medium",
        },
    )
    path = f"/api/enterprises/{made.json()['id']}/correction"
    body = {"corrected_on": "2015-05-05", "reason": "Đổi tên", "name": "Công ty B"}
    first = client.post(path, json=body, headers=headers(people, "officer", "fix-1"))
    again = client.post(path, json=body, headers=headers(people, "officer", "fix-1"))
    assert first.status_code == again.status_code == 200
    assert (
        first.json()
        == again.json()
        == {"id": made.json()["id"], "position": made.json()["position"] + 1}
    )
    assert ledger.position() == made.json()["position"] + 1


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    key = "nhap-du-toan-2015"
    first = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance", key))
    assert first.status_code == 201
    before = ledger.position()
    for other_body in (budget(amount=2_000_000), budget(project="DA2")):
        refused = client.post(
            "/api/budget-lines", json=other_body, headers=headers(people, "finance", key)
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "idempotency_key_reused"
        assert ledger.position() == before
    assert len(stored_keys(ledger)) == 1


def test_keys_are_scoped_to_the_user_who_sends_them(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    before = ledger.position()
    key = "same-key-for-two-people"
    mine = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance", key))
    assert mine.status_code == 201
    # Another user sends the same key with another request: it is a request of its own.
    theirs = client.post(
        "/api/enterprises",
        headers=headers(people, "officer", key),
        json={
            "tax_code": "0101234567",
            "name": "Công ty C",
            "district": "QH-BADINH",
            "sector": "ict",
            "size": "small",
        },
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    # A second finance clerk sends the same key with the very same body: carried out again.
    colleague = ledger.grant_access(
        c.GrantAccess(name="Đinh Văn Phúc", role="finance", department="STC"), people.admin
    )
    before_colleague = ledger.position()
    twice = client.post(
        "/api/budget-lines",
        json=budget(),
        headers={"Authorization": f"Bearer {colleague.token}", "Idempotency-Key": key},
    )
    assert twice.status_code == 201
    assert twice.json()["position"] == before_colleague + 1
    assert ledger.get_budget_lines(2015, "DA1", "city_budget")[0]["assigned"] == 2_000_000
    # One line assigned, one enterprise with its tax-code claim, the grant, one adjustment.
    assert ledger.position() == before + 1 + 2 + 1 + 1
    assert sorted(user for user, _, _ in stored_keys(ledger)) == sorted(
        [people.finance.user_id, people.officer.user_id, str(colleague.user_id)]
    )


def test_refused_requests_store_no_key_so_a_corrected_retry_goes_through(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    key = "retry-after-fixing"
    refused = client.post(
        "/api/budget-lines", json=budget(amount=0), headers=headers(people, "finance", key)
    )
    assert refused.status_code == 422
    assert stored_keys(ledger) == []
    fixed = client.post("/api/budget-lines", json=budget(), headers=headers(people, "finance", key))
    assert fixed.status_code == 201


def test_a_replayed_grant_of_access_does_not_show_the_token_again(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    body = {"name": "Lý Văn Minh", "role": "inspector", "department": "STC"}
    first = client.post("/api/users", json=body, headers=headers(people, "admin", "grant-1"))
    assert first.status_code == 201 and first.json()["token"]
    again = client.post("/api/users", json=body, headers=headers(people, "admin", "grant-1"))
    assert again.status_code == 201
    assert again.json() == {**first.json(), "token": None}
    with ledger.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT response FROM idempotency_keys")).scalar_one()
    assert first.json()["token"] not in stored


def test_an_idempotency_key_longer_than_200_characters_is_refused(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    before = ledger.position()
    for key, status in (("k" * 201, 422), ("k" * 200, 201)):
        response = client.post(
            "/api/budget-lines", json=budget(), headers=headers(people, "finance", key)
        )
        assert response.status_code == status, response.text
        if status == 422:
            assert response.json()["code"] == "validation_error"
            assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
            assert ledger.position() == before


def test_an_empty_idempotency_key_is_refused_not_taken_for_a_key(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    # An empty header is a client's mistake (a variable left unset), not a key: taken as
    # one, every such request of the user would replay the first.
    before = ledger.position()
    for key in ("", "   "):
        response = client.post(
            "/api/budget-lines", json=budget(), headers=headers(people, "finance", key)
        )
        assert response.status_code == 422, f"{key!r}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        assert "empty" in problem["errors"][0]["msg"]
    assert ledger.position() == before
    assert stored_keys(ledger) == []


def test_requests_racing_with_the_same_key_are_carried_out_once(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    users_before = len(ledger.list_users())
    body = {"name": "Cao Thị Nga", "role": "viewer", "department": "SCT"}
    start = threading.Barrier(4)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        start.wait()
        response = client.post("/api/users", json=body, headers=headers(people, "admin", "race"))
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [201] * 4
    assert len({answer["id"] for _, answer in answers}) == 1
    assert len(ledger.list_users()) == users_before + 1
