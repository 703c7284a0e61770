"""Every endpoint × every role: who gets in (401), who may (403), checked before the body."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.endpoints import Endpoint
from api.routes import ENDPOINTS
from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.checkpoint import init_key
from ledger.service import Ledger
from tests.support.people import People

PROTECTED = [e for e in ENDPOINTS if not e.public]
#: not JSON at all: a handler that read the body before checking the role would answer 422
GARBAGE = b"{this is not json"


def expected_roles(endpoint: Endpoint) -> set[str]:
    """README's HTTP contract's table of roles, written out independently of the route table."""
    path, method = endpoint.template, endpoint.method
    if (method, path) == ("GET", "/api/users"):
        return {"admin", "inspector"}  # personnel data (issue 10): who manages and who audits
    if path.startswith("/api/users") or path.startswith("/api/admin"):
        return {"admin"}  # manage users, rebuild projections
    if path in ("/api/audit/checkpoints", "/api/audit/verify") and (method, path) != (
        "GET",
        "/api/audit/checkpoints",
    ):
        return {"inspector", "finance"}  # sign checkpoints, verify the log (issue 4)
    if method == "GET":
        return set(catalogue.ROLES)
    if path.startswith(("/api/budget-lines", "/api/budget-years", "/api/support-rules")):
        return {"finance"}  # budget lines and reductions, year close, support rules
    if "/recoveries" in path:
        return {"finance"}
    if path.startswith("/api/estimates/"):
        return {  # needs and the draft: officers; appraisal or return: finance; approval: leader
            "needs": {"officer"},
            "draft": {"officer"},
            "appraisal": {"finance"},
            "return": {"finance"},
            "approval": {"leader"},
        }[path.rsplit("/", 1)[1]]
    return {"officer"}


def address(endpoint: Endpoint) -> str:
    values = {
        name: 2016 if name == "budget_year" else uuid.uuid4() for name in endpoint.path_params
    }
    return endpoint.template.format(**values)


def call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> httpx.Response:
    if endpoint.method == "POST":
        sent = {**headers, "Content-Type": "application/json"}
        return client.post(address(endpoint), content=GARBAGE, headers=sent)
    return client.get(address(endpoint), headers=headers)


@pytest.fixture
def client(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("LEDGER_SIGNING_KEY", str(tmp_path / "signing.pem"))
    init_key()
    with TestClient(create_app(ledger)) as client:
        yield client


def test_every_protected_endpoint_refuses_a_missing_bad_or_revoked_token(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    gone = ledger.grant_access(c.GrantAccess(name="Cựu", role="admin", department="SKHCN"), SYSTEM)
    ledger.revoke_access(c.RevokeAccess(user_id=gone.user_id, reason="Nghỉ hưu"), SYSTEM)
    before = ledger.position()
    refusals = {
        "no token": {},
        "an empty bearer": {"Authorization": "Bearer "},
        "a bad token": {"Authorization": "Bearer not-a-real-token"},
        "a very long token": {"Authorization": "Bearer " + "x" * 5000},
        "a revoked token": {"Authorization": f"Bearer {gone.token}"},
        "another scheme": {"Authorization": f"Basic {people.tokens['admin']}"},
        "a bare token": {"Authorization": people.tokens["admin"]},
    }
    # 23 commands, 6 reads, 6 reports, 2 audit-trail files, 5 audit (a checkpoint made,
    # checkpoints listed, two proofs, a verification), 2 for admins; the budget cycle: 9
    # commands (a reduction, a close, a reopening, a rule, needs, a draft, an appraisal, a
    # return, an approval) and 4 reads (years, rules, an estimate, the estimates); program
    # reports and open data: 3 reports (program, estimate, budget execution), 2 exports; a
    # user's change of name or department (issue 15)
    assert len(PROTECTED) == 63
    for endpoint in PROTECTED:
        for why, headers in refusals.items():
            response = call(client, endpoint, headers)
            where = f"{endpoint.method} {endpoint.path} with {why}"
            assert response.status_code == 401, f"{where}: {response.status_code}"
            assert response.headers["WWW-Authenticate"] == "Bearer", where
            assert response.headers["content-type"] == "application/problem+json", where
            assert response.json()["code"] == "unauthorized", where
    assert ledger.position() == before
    # The scheme's name is not case-sensitive.
    lower = {"Authorization": f"bearer {people.tokens['viewer']}"}
    assert client.get("/api/budget-lines", headers=lower).status_code == 200


@pytest.mark.parametrize("role", catalogue.ROLES)
def test_each_role_may_call_exactly_the_endpoints_api_md_gives_it(
    role: str, client: TestClient, ledger: Ledger, people: People
) -> None:
    headers = {"Authorization": f"Bearer {people.tokens[role]}"}
    before = ledger.position()
    allowed_somewhere = False
    for endpoint in PROTECTED:
        assert endpoint.roles is None or endpoint.roles == expected_roles(endpoint)
        response = call(client, endpoint, headers)
        status = response.status_code
        where = f"{role} {endpoint.method} {endpoint.path}: {status}"
        if role in expected_roles(endpoint):
            allowed_somewhere = True
            assert status not in (401, 403), where
            # Past the gate: a garbage body is a 422, an unknown id a 404, a list a 200
            # (a POST with no body, such as an admin's rebuild of an unknown projection: 404;
            # a checkpoint made: 201), a query without its required parameters a 422.
            required = endpoint.query is not None and any(
                f.is_required() for f in endpoint.query.model_fields.values()
            )
            past: tuple[int, ...] = (422,) if endpoint.command is not None else (200, 201, 404)
            past += (422,) if required else ()
            assert status in past, where
        else:
            assert status == 403, where
            assert response.json()["code"] == "forbidden", where
            assert role in response.json()["detail"], where
    assert allowed_somewhere
    assert ledger.position() == before


def test_public_addresses_need_no_token(client: TestClient) -> None:
    assert client.get("/").status_code == 200  # the public overview page (api/web/pages.py)
    for endpoint in ENDPOINTS:
        if endpoint.public:
            assert client.get(endpoint.path).status_code == 200, endpoint.path
    assert {e.path for e in ENDPOINTS if e.public} == {
        "/openapi.json",
        "/api/health",
        "/api/health/ready",
        "/api/audit/public-key",
    }
