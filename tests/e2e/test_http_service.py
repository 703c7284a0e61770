"""The service addresses: OpenAPI document, health, and the answers to mistakes (the pages:
``test_pages.py``)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from starlette.testclient import TestClient

from api.app import create_app, worker_threads
from api.openapi import HTTP_CODES, error_classes
from api.problems import STATUS_OF_CODE
from api.routes import ENDPOINTS
from ledger.service import Ledger
from projections.registry import BY_NAME
from tests.support.people import People

PROJECTION_NAMES = set(BY_NAME)

A = "/api/applications/{application_id}"
#: the HTTP contract's resources (README) and the lifecycle steps, written out by hand.
EXPECTED_ROUTES = {
    ("GET", "/openapi.json"),
    ("GET", "/api/health"),
    ("GET", "/api/health/ready"),
    ("POST", "/api/enterprises"),
    ("GET", "/api/enterprises/{enterprise_id}"),
    ("POST", "/api/enterprises/{enterprise_id}/correction"),
    ("POST", "/api/budget-lines"),
    ("GET", "/api/budget-lines"),
    ("POST", "/api/budget-lines/reduction"),
    ("POST", "/api/budget-years/{budget_year}/close"),
    ("POST", "/api/budget-years/{budget_year}/reopen"),
    ("GET", "/api/budget-years"),
    ("POST", "/api/support-rules"),
    ("GET", "/api/support-rules"),
    ("POST", "/api/estimates/{budget_year}/needs"),
    ("POST", "/api/estimates/{budget_year}/draft"),
    ("POST", "/api/estimates/{budget_year}/appraisal"),
    ("POST", "/api/estimates/{budget_year}/return"),
    ("POST", "/api/estimates/{budget_year}/approval"),
    ("GET", "/api/estimates/{budget_year}"),
    ("GET", "/api/estimates"),
    ("POST", "/api/applications"),
    ("GET", A),
    ("GET", f"{A}/history"),
    ("POST", f"{A}/appraisal"),
    ("POST", f"{A}/approval"),
    ("POST", f"{A}/rejection"),
    ("POST", f"{A}/disbursements"),
    ("POST", f"{A}/disbursements/{{disbursement_id}}/reversal"),
    ("POST", f"{A}/acceptance"),
    ("POST", f"{A}/recoveries"),
    ("POST", f"{A}/cancellation"),
    ("POST", f"{A}/return"),
    ("POST", f"{A}/resubmission"),
    ("POST", f"{A}/withdrawal"),
    ("POST", f"{A}/contract"),
    ("POST", f"{A}/settlement"),
    ("POST", f"{A}/recoveries/{{recovery_id}}/receipt"),
    ("POST", "/api/activities"),
    ("GET", "/api/activities/{activity_id}"),
    ("POST", "/api/activities/{activity_id}/spending"),
    ("POST", "/api/activities/{activity_id}/completion"),
    ("POST", "/api/users"),
    ("GET", "/api/users"),
    ("POST", "/api/users/{user_id}/revocation"),
    ("POST", "/api/users/{user_id}/change"),
    ("GET", "/api/reports/project-spend"),
    ("GET", "/api/reports/department-activity"),
    ("GET", "/api/reports/targets"),
    ("GET", "/api/reports/audit-trail"),
    ("GET", "/api/reports/trial-balance"),
    ("GET", "/api/applications"),
    ("GET", "/api/reports/audit-trail.xlsx"),
    ("GET", "/api/reports/audit-trail.csv"),
    ("GET", "/api/reports/program"),
    ("GET", "/api/reports/estimate/{budget_year}"),
    ("GET", "/api/reports/budget-execution"),
    ("GET", "/api/exports/iati.xml"),
    ("GET", "/api/exports/fiscal-data-package.zip"),
    ("GET", "/api/audit/public-key"),
    ("POST", "/api/audit/checkpoints"),
    ("GET", "/api/audit/checkpoints"),
    ("GET", "/api/audit/proofs/inclusion"),
    ("GET", "/api/audit/proofs/consistency"),
    ("GET", "/api/audit/verify"),
    ("GET", "/api/admin/projections"),
    ("POST", "/api/admin/projections/{name}/rebuild"),
}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_openapi_document_describes_every_route_of_the_table(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = json.loads(response.content, parse_constant=lambda name: pytest.fail(name))
    assert document["openapi"] == "3.1.0" and document["info"]["title"]
    table = {(e.method, e.template) for e in ENDPOINTS}
    assert table == EXPECTED_ROUTES
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert listed == table
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    for ref in set(refs(document)):
        assert resolve(document, ref) is not None, ref
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))

    for endpoint in ENDPOINTS:
        op = document["paths"][endpoint.template][endpoint.method.lower()]
        where = f"{endpoint.method} {endpoint.template}"
        assert op["security"] == ([] if endpoint.public else [{"bearer": []}]), where
        assert str(endpoint.status) in op["responses"], where
        path_params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
        assert path_params == list(endpoint.path_params), where
        if not endpoint.public:
            assert op["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
        for status, answer in op["responses"].items():
            if status.startswith(("4", "5")):
                content = resolve(document, answer["$ref"])["content"]
                assert list(content) == ["application/problem+json"], where
        if endpoint.command is None:
            assert "requestBody" not in op, where
            continue
        # The request body is the command's schema less the path's ids and command_id.
        assert {"401", "403", "409", "422"} <= set(op["responses"]), where
        assert any(p["name"] == "Idempotency-Key" for p in op["parameters"]), where
        schema = resolve(
            document, op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        )
        fields = set(endpoint.command.model_fields) - set(endpoint.path_params) - {"command_id"}
        assert set(schema["properties"]) == fields, where
        assert set(schema.get("required", [])) <= fields, where
        assert schema["additionalProperties"] is False, where

    budget = document["components"]["schemas"]["AssignBudget"]
    assert budget["properties"]["project"]["enum"] == ["DA1", "DA2", "DA3", "DA4"]
    assert budget["properties"]["amount"]["type"] == "integer"
    assert budget["properties"]["amount"]["exclusiveMinimum"] == 0
    assert budget["properties"]["decided_on"]["format"] == "date"
    submit = document["components"]["schemas"]["SubmitApplication"]
    assert submit["properties"]["requested"] == {"$ref": "#/components/schemas/Funding"}
    assert "Funding" in document["components"]["schemas"]
    assert "$defs" not in json.dumps(document)
    acceptance = document["components"]["schemas"]["RecordAcceptance"]
    assert "management_systems" in acceptance["properties"]["outputs"]["propertyNames"]["enum"]
    parameters = document["paths"]["/api/budget-lines"]["get"]["parameters"]
    assert [p["name"] for p in parameters if p["in"] == "query"] == [
        "budget_year",
        "project",
        "source",
        "channel",
    ]
    assert {"name": "Accept-Language", "in": "header"}.items() <= parameters[-1].items()


def test_health_answers_the_database_and_the_position_without_a_token(
    client: TestClient, ledger: Ledger, people: People, backend: str
) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["position"]) == ("ok", backend, 9)
    assert ledger.position() == 9  # the nine people of the fixture
    assert body["follower"]["state"] == body["snapshots"]["state"] == "off"  # not a server's
    assert {p["name"]: (p["lag"], p["last_error"]) for p in body["projections"]} == {
        name: (9, None) for name in PROJECTION_NAMES
    }
    assert client.head("/api/health").status_code == 200


def test_unknown_addresses_and_wrong_methods_answer_problem_json(
    client: TestClient, people: People
) -> None:
    token = {"Authorization": f"Bearer {people.tokens['officer']}"}
    for path in ("/nowhere", "/api", "/api/budget-lines/", "/api/reports/targets"):
        response = (client.post if path.startswith("/api/reports") else client.get)(
            path, headers=token
        )
        expected = 405 if path.startswith("/api/reports") else 404
        assert response.status_code == expected, path
        assert response.headers["content-type"] == "application/problem+json", path
        problem = response.json()
        assert problem["status"] == expected and problem["code"] in {
            "not_found",
            "method_not_allowed",
        }
    wrong = client.delete("/api/budget-lines", headers=token)
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    assert client.put(f"/api/applications/{people.officer.user_id}/approval").status_code == 405


def test_an_unexpected_fault_is_a_generic_500_with_the_traceback_logged(
    ledger: Ledger,
    people: People,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ledger, "get_budget_lines", broken)
    monkeypatch.setattr(ledger, "assign_budget", broken)
    token = {"Authorization": f"Bearer {people.tokens['finance']}"}
    before = ledger.position()
    app = create_app(ledger)
    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.ERROR, logger="api"),
    ):
        read = client.get("/api/budget-lines", headers=token)
        write = client.post(
            "/api/budget-lines",
            headers=token,
            json={
                "budget_year": 2015,
                "project": "DA2",
                "source": "city_budget",
                "amount": 1,
                "decision_no": "QĐ-1",
                "decided_on": "2015-01-05",
            },
        )
    for response in (read, write):
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "internal_error"
        assert "secret" not in response.text
    assert ledger.position() == before
    logged = [r for r in caplog.records if r.name == "api" and r.exc_info]
    assert len(logged) == 2
    assert all("secret internals" in str(r.exc_info[1]) for r in logged if r.exc_info)


def test_requests_use_no_more_threads_than_the_pool_has_connections(ledger: Ledger) -> None:
    pool = ledger.engine.pool
    threads = worker_threads(ledger)
    assert threads == pool.size() + pool._max_overflow - 3  # for the follower and snapshots
    with TestClient(create_app(ledger)) as client:
        assert client.portal is not None
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
        )
    assert tokens == threads


#: the document as a process that first imports ``first`` serves it (``ledger serve`` imports
#: the command line first; the tests, the app)
DOCUMENT_AFTER = (
    "import json, sys, {first}; from api import openapi; from api.routes import ENDPOINTS; "
    "sys.stdout.write(json.dumps(openapi.document(ENDPOINTS), sort_keys=True))"
)


def test_the_document_is_the_same_whatever_the_server_imported_first() -> None:
    """The problem codes are the table's, not those of the errors imported so far."""
    served = {}
    for first in ("api.cli", "api.app", "api.openapi"):
        done = subprocess.run(
            [sys.executable, "-c", DOCUMENT_AFTER.format(first=first)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        served[first] = json.loads(done.stdout)
    assert served["api.cli"] == served["api.app"] == served["api.openapi"]
    codes = served["api.cli"]["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert set(codes) == set(STATUS_OF_CODE) | set(HTTP_CODES)


def test_every_refusal_the_server_may_give_has_its_http_status() -> None:
    """The domain names a refusal by its code; the HTTP layer's table gives its status."""
    codes = {error.code for error in error_classes()}
    assert codes <= set(STATUS_OF_CODE), codes - set(STATUS_OF_CODE)
