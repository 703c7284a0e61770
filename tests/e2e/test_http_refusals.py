"""Domain refusals over HTTP: each with its code and status, and nothing written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario

M = 1_000_000
SPLIT = {"city_budget": 60 * M, "enterprise": 40 * M, "other": 0}


class Desk:
    def __init__(self, client: TestClient, ledger: Ledger, people: People) -> None:
        self.client, self.ledger, self.people = client, ledger, people

    def refused(
        self,
        role: str,
        method: str,
        path: str,
        status: int,
        code: str,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        before = self.ledger.position()
        headers = {"Authorization": f"Bearer {self.people.tokens[role]}"}
        response = self.client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, f"{path}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = response.json()
        assert set(problem) == {"type", "title", "status", "detail", "code"}
        assert (problem["status"], problem["code"]) == (status, code)
        assert problem["detail"].endswith(".") and problem["title"]
        assert self.ledger.position() == before, f"{path}: a refused command wrote something"
        return problem


@pytest.fixture
def desk(ledger: Ledger, people: People) -> Iterator[Desk]:
    with TestClient(create_app(ledger)) as client:
        yield Desk(client, ledger, people)


def approval(city: int = 60 * M, enterprise: int = 40 * M) -> dict[str, Any]:
    split = {"city_budget": city, "enterprise": enterprise, "other": 0}
    return {
        "decision_no": f"QĐ-{uuid.uuid4().hex[:6]}",
        "decided_on": "2015-03-01",
        "budget_year": 2015,
        "approved": split,
    }


def payment(amount: int, voucher_no: str | None = None) -> dict[str, Any]:
    return {
        "paid_on": "2015-04-01",
        "amount": amount,
        "kind": "payment",
        "voucher_no": voucher_no or f"PC-{uuid.uuid4().hex[:8]}",
    }


def test_steps_out_of_lifecycle_order_are_invalid_transitions(desk: Desk) -> None:
    scenario = Scenario(desk.ledger, desk.people)
    scenario.budget(1_000 * M)
    submitted = scenario.submitted()
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{submitted}/disbursements",
        409,
        "invalid_transition",
        payment(1 * M),
    )
    desk.refused(
        "approver",
        "POST",
        f"/api/applications/{submitted}/approval",
        409,
        "invalid_transition",
        approval(),
    )
    rejected = scenario.appraised()
    desk.client.post(
        f"/api/applications/{rejected}/rejection",
        json={"decided_on": "2015-02-20", "reason": "Không đạt"},
        headers={"Authorization": f"Bearer {desk.people.tokens['officer']}"},
    )
    problem = desk.refused(
        "approver",
        "POST",
        f"/api/applications/{rejected}/approval",
        409,
        "invalid_transition",
        approval(),
    )
    assert "rejected" in problem["detail"]
    settled = scenario.settled()
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{settled}/disbursements",
        409,
        "invalid_transition",
        payment(1 * M),
    )


def test_money_beyond_what_was_requested_approved_or_assigned_is_refused(desk: Desk) -> None:
    scenario = Scenario(desk.ledger, desk.people)
    scenario.budget(100 * M)
    appraised = scenario.appraised()
    # Above the request for the city-budget source.
    desk.refused(
        "approver",
        "POST",
        f"/api/applications/{appraised}/approval",
        409,
        "exceeds_requested",
        approval(city=61 * M),
    )
    # Payments beyond the approved city-budget share.
    contracted = scenario.contracted(city=60 * M)
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{contracted}/disbursements",
        409,
        "exceeds_approved",
        payment(60 * M + 1),
    )
    # 60 of the line's 100 are committed: another 60 do not fit.
    problem = desk.refused(
        "approver",
        "POST",
        f"/api/applications/{appraised}/approval",
        409,
        "insufficient_budget",
        approval(),
    )
    assert "40.000.000 ₫" in problem["detail"]


@pytest.mark.parametrize(
    ("roles", "code", "said"),
    [
        (("officer", "appraiser"), "separation_of_duties", "The approver may not be"),
        (("district_officer",), "forbidden", "SKHCN"),
    ],
    ids=["who-submitted-or-appraised", "outside-skhcn"],
)
def test_who_may_not_approve_is_refused(
    desk: Desk, roles: tuple[str, ...], code: str, said: str
) -> None:
    """The approver may not have submitted or appraised the application, and an officer
    outside SKHCN may not approve."""
    scenario = Scenario(desk.ledger, desk.people)
    scenario.budget(1_000 * M)
    appraised = scenario.appraised()
    for role in roles:
        problem = desk.refused(
            role, "POST", f"/api/applications/{appraised}/approval", 403, code, approval()
        )
        assert said in problem["detail"]


def test_natural_keys_already_used_are_duplicates(desk: Desk) -> None:
    scenario = Scenario(desk.ledger, desk.people)
    scenario.budget(1_000 * M)
    contracted = scenario.contracted()
    state = desk.ledger.get_application(contracted)
    enterprise = desk.ledger.get_enterprise(state["enterprise_id"])
    desk.refused(
        "officer",
        "POST",
        "/api/enterprises",
        409,
        "duplicate",
        {
            "tax_code": enterprise["tax_code"],
            "name": "Công ty trùng",
            "district": "QH-BADINH",
            "sector": "ict",
            "size": "small",
        },
    )
    desk.refused(
        "officer",
        "POST",
        "/api/applications",
        409,
        "duplicate",
        {
            "enterprise_id": state["enterprise_id"],
            "dossier_no": state["dossier_no"],
            "project": "DA2",
            "support_type": "iso_9001",
            "title": "Hồ sơ trùng số",
            "total_cost": 100 * M,
            "requested": SPLIT,
            "submitted_on": "2015-02-01",
        },
    )
    voucher = "PC-2015-0001"
    scenario_payment = desk.client.post(
        f"/api/applications/{contracted}/disbursements",
        json=payment(1 * M, voucher),
        headers={"Authorization": f"Bearer {desk.people.tokens['officer']}"},
    )
    assert scenario_payment.status_code == 201
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{contracted}/disbursements",
        409,
        "duplicate",
        payment(1 * M, voucher),
    )
    # Tax codes and numbers are compared without regard to case or surrounding blanks.
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{contracted}/disbursements",
        409,
        "duplicate",
        payment(1 * M, " pc-2015-0001 "),
    )


def test_unknown_ids_are_not_found(desk: Desk) -> None:
    scenario = Scenario(desk.ledger, desk.people)
    scenario.budget(1_000 * M)
    contracted = scenario.contracted()
    nobody = uuid.uuid4()
    for path in (
        f"/api/applications/{nobody}",
        f"/api/applications/{nobody}/history",
        f"/api/enterprises/{nobody}",
        f"/api/activities/{nobody}",
        f"/api/enterprises/{contracted}",
        f"/api/activities/{contracted}",
    ):
        desk.refused("viewer", "GET", path, 404, "not_found")
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{nobody}/appraisal",
        404,
        "not_found",
        {"appraised_on": "2015-02-15", "recommended": SPLIT},
    )
    desk.refused(
        "officer",
        "POST",
        "/api/applications",
        404,
        "not_found",
        {
            "enterprise_id": str(nobody),
            "dossier_no": "HS-X",
            "project": "DA2",
            "support_type": "iso_9001",
            "title": "Không có doanh nghiệp",
            "total_cost": 100 * M,
            "requested": SPLIT,
            "submitted_on": "2015-02-01",
        },
    )
    desk.refused(
        "officer",
        "POST",
        f"/api/applications/{contracted}/disbursements/{nobody}/reversal",
        404,
        "not_found",
        {"reversed_on": "2015-05-01", "reason": "Nhầm"},
    )
    desk.refused(
        "admin", "POST", f"/api/users/{nobody}/revocation", 404, "not_found", {"reason": "Không có"}
    )
    # A malformed id is no address at all.
    desk.refused("viewer", "GET", "/api/applications/not-a-uuid", 404, "not_found")
    desk.refused("officer", "POST", "/api/applications/12345/appraisal", 404, "not_found", {})


def test_revocations_that_would_lock_the_administrators_out_are_refused(desk: Desk) -> None:
    own = desk.people.admin.user_id
    problem = desk.refused(
        "admin",
        "POST",
        f"/api/users/{own}/revocation",
        409,
        "admin_lockout",
        {"reason": "Nghỉ việc"},
    )
    assert "your own access" in problem["detail"]
    # A second admin may revoke the first; the second, now the last, may not revoke itself
    # (over HTTP the actor is always an active admin: the last admin's own revocation is the
    # only way to reach zero; the command line and races are tested in
    # tests/integration/test_admin_lockout.py).
    second = desk.client.post(
        "/api/users",
        json={"name": "Quản trị 2", "role": "admin", "department": "SKHCN"},
        headers={"Authorization": f"Bearer {desk.people.tokens['admin']}"},
    )
    assert second.status_code == 201, second.text
    token = second.json()["token"]
    revoked = desk.client.post(
        f"/api/users/{own}/revocation",
        json={"reason": "Nghỉ hưu"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert revoked.status_code == 200, revoked.text
    before = desk.ledger.position()
    answer = desk.client.post(
        f"/api/users/{second.json()['id']}/revocation",
        json={"reason": "Nghỉ hưu"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "admin_lockout")
    assert desk.ledger.position() == before
    assert [
        u["name"] for u in desk.ledger.list_users() if u["role"] == "admin" and u["active"]
    ] == ["Quản trị 2"]
