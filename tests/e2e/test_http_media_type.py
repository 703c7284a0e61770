"""A command's body is JSON, said so by ``Content-Type: application/json``; any other body is
refused with 415 ``unsupported_media_type`` and writes nothing (README's table of errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger.service import Ledger
from tests.support.people import People

BUDGET = {
    "budget_year": 2015,
    "project": "DA2",
    "source": "city_budget",
    "amount": 5_000_000,
    "decision_no": "QĐ-5/STC",
    "decided_on": "2015-01-05",
}
RAW = json.dumps(BUDGET).encode()


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger)) as client:
        yield client


def post(
    client: TestClient,
    people: People,
    content_type: str | None,
    role: str = "finance",
    content: bytes = RAW,
    more: dict[str, str] | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {people.tokens[role]}", **(more or {})}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post("/api/budget-lines", content=content, headers=headers)


def assert_unsupported(response: httpx.Response, why: str) -> dict[str, Any]:
    assert response.status_code == 415, f"{why}: {response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/problem+json", why
    problem: dict[str, Any] = response.json()
    assert set(problem) == {"type", "title", "status", "detail", "code"}, why
    assert (problem["status"], problem["code"]) == (415, "unsupported_media_type"), why
    assert "application/json" in problem["detail"] and problem["detail"].endswith("."), why
    return problem


def test_a_json_body_sent_as_another_media_type_or_none_is_refused_and_writes_nothing(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    before = ledger.position()
    for content_type in (
        None,
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
        "application/json-seq",
        "application/merge-patch+json",
        "json",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ):
        problem = assert_unsupported(post(client, people, content_type), repr(content_type))
        if content_type and content_type.startswith("application/json;"):
            assert "UTF-8" in problem["detail"], content_type
    # A form, as a browser would send it, is not read either.
    form = post(client, people, "application/x-www-form-urlencoded", content=b"amount=5000000")
    assert_unsupported(form, "a form")
    assert ledger.position() == before
    assert ledger.get_budget_lines() == []


def test_application_json_is_accepted_with_any_case_spacing_and_a_utf_8_charset(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    for number, content_type in enumerate(
        (
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            'application/json ; charset="utf-8"',
            "application/json; charset=utf8",
        )
    ):
        body = json.dumps({**BUDGET, "decision_no": f"QĐ-{number}/STC"}).encode()
        response = post(client, people, content_type, content=body)
        assert response.status_code == 201, f"{content_type}: {response.text}"
    [line] = ledger.get_budget_lines()
    assert line["assigned"] == 6 * 5_000_000


def test_the_media_type_is_checked_after_the_token_and_role_and_before_anything_else(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    # No token: 401 first; a role that may not: 403 first.
    anonymous = client.post(
        "/api/budget-lines", content=RAW, headers={"Content-Type": "text/plain"}
    )
    assert anonymous.status_code == 401
    assert post(client, people, "text/plain", role="viewer").status_code == 403
    # Then the media type, before the Idempotency-Key, the body's size and its JSON.
    too_long = {"Idempotency-Key": "x" * 300}
    assert_unsupported(post(client, people, "text/plain", more=too_long), "key")
    assert_unsupported(post(client, people, "text/plain", content=b"x" * (2 * 1024 * 1024)), "size")
    assert_unsupported(post(client, people, "text/plain", content=b"{not json"), "not JSON")
    # Requests without a body (a checkpoint, a rebuild) have no media type to check.
    rebuild = client.post(
        "/api/admin/projections/nothing/rebuild",
        headers={"Authorization": f"Bearer {people.tokens['admin']}"},
    )
    assert rebuild.status_code == 404
    assert ledger.position() == len(people.tokens)
