"""Every JSON answer of the route table has a named response model, and the OpenAPI document
describes each with it: the keys an answer has (and no other), their types, which are
sometimes absent. Only the document itself is an open object.

The schemathesis suite (``tests/faults/test_openapi_schemathesis.py``) holds random requests'
answers to the document; here every report is read with rows in it, live, stale and as a
past view, by a reader who may read personnel data and one who may not, and each answer is
held to its schema in the served document."""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient

from api import reports
from api.app import create_app
from api.endpoints import JSON, Endpoint
from api.routes import ENDPOINTS
from ledger import commands as c
from ledger.service import Ledger
from tests.support.http import REPORTS, SHAPED_REPORTS, read_side_of
from tests.support.people import People, auth
from tests.support.scenario import Scenario

#: the JSON answers whose body is open by nature: the OpenAPI document itself
OPEN_ANSWERS = {"openapi"}

#: the values of named models that are open by nature (any JSON): an event's own fields in an
#: application's history, and the values before and after a change it made
OPEN_VALUES = {
    ("HistoryEntryOut", "data"),
    ("HistoryChangeOut", "from"),
    ("HistoryChangeOut", "to"),
}


def answer_models(response: Any) -> list[type[BaseModel]]:
    """The model of an answer (``Model`` or ``list[Model]``); none: it has no named model."""
    if typing.get_origin(response) is list:
        (response,) = typing.get_args(response)
    if isinstance(response, type) and issubclass(response, BaseModel):
        return [response]
    return []


def nested_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model its fields hold, however deep."""
    yield model
    for field in model.model_fields.values():
        for arg in _flatten(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from nested_models(arg)


def _flatten(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _flatten(arg)


def json_endpoints() -> list[Endpoint]:
    return [e for e in ENDPOINTS if e.media_type == JSON]


def test_every_json_answer_of_the_route_table_has_a_named_model() -> None:
    unnamed = {e.name for e in json_endpoints() if not answer_models(e.response)}
    assert unnamed == OPEN_ANSWERS
    # Two models of one name would share (and overwrite) one schema of the document.
    by_name: dict[str, type[BaseModel]] = {}
    for endpoint in json_endpoints():
        for top in answer_models(endpoint.response):
            for model in nested_models(top):
                assert by_name.setdefault(model.__name__, model) is model, model.__name__


def test_the_document_names_the_schema_of_every_json_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for endpoint in json_endpoints():
        operation = document["paths"][endpoint.template][endpoint.method.lower()]
        schema = operation["responses"][str(endpoint.status)]["content"][JSON]["schema"]
        if endpoint.name in OPEN_ANSWERS:
            assert schema == {"additionalProperties": True, "type": "object"}, endpoint.name
            continue
        ref = schema["items"]["$ref"] if schema.get("type") == "array" else schema["$ref"]
        name = ref.removeprefix("#/components/schemas/")
        assert name in schemas and schemas[name]["additionalProperties"] is False, endpoint.name

    # No value of an answer is an open object or any JSON but where it is so by nature.
    models = {
        model.__name__
        for endpoint in json_endpoints()
        for top in answer_models(endpoint.response)
        for model in nested_models(top)
    }
    open_values = set()
    for name in models:
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        for key, prop in schema["properties"].items():
            if any(_open(branch) for branch in prop.get("anyOf", [prop])):
                open_values.add((name, key))
    assert open_values == OPEN_VALUES


def _open(schema: dict[str, Any]) -> bool:
    """Whether a schema takes any JSON, or any object."""
    if not set(schema) - {"title", "description"}:
        return True
    extra = schema.get("additionalProperties", True)
    return (
        schema.get("type") == "object"
        and not {"properties", "$ref"} & set(schema)
        and extra in (True, {})
    )


# -- every report's answers, held to the served document --------------------------------------


@pytest.fixture
def client(ledger: Ledger) -> Iterator[TestClient]:
    with TestClient(create_app(ledger)) as client:
        yield client


@pytest.fixture
def history(ledger: Ledger, people: People) -> int:
    """Some of everything the reports show: lines, an application settled and one approved
    (with an enterprise share), an activity, a user granted (a personnel row); the head."""
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    scenario.settled()
    scenario.approved(city=30_000_000, enterprise_share=20_000_000)
    ledger.approve_activity(
        c.ApproveActivity(
            department="SKHCN",
            project="DA2",
            kind="training",
            title="Tập huấn",
            budget_year=2015,
            budget=10_000_000,
            decision_no="QĐ-1",
            approved_on=dt.date(2015, 3, 1),
        ),
        people.officer,
    )
    ledger.grant_access(
        c.GrantAccess(name="Lê Văn Mới", role="viewer", department="STC"), people.admin
    )
    return ledger.position()


class Answers:
    """Validates answers against the served document's schema of each operation's 200."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def check(self, path: str, method: str, body: Any) -> None:
        content = self.document["paths"][path][method]["responses"]["200"]["content"]
        schema = {**content[JSON]["schema"], "components": self.document["components"]}
        validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, (path, errors)


def test_every_report_answers_as_the_document_says_live_stale_and_past(
    client: TestClient,
    ledger: Ledger,
    people: People,
    history: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = Answers(client.get("/openapi.json").json())
    read_side_of(client).projector.catch_up()  # live answers at once; a stale one soon
    monkeypatch.setattr(reports, "READ_YOUR_WRITES_WAIT", 0.05)
    asked: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = {
        "live": ({"min_position": history}, lambda body: "view" not in body),
        "stale": ({"min_position": history + 1_000}, lambda body: body.get("stale") is True),
        "known at": ({"as_known_at": history - 3}, lambda body: "view" in body),
        "known then, as of": (
            {"as_known_at": dt.datetime.now(dt.UTC).isoformat(), "as_of": "2015-06-30"},
            lambda body: body["view"]["as_of"] == "2015-06-30",
        ),
    }
    for path in REPORTS:
        for role in ("inspector", "viewer"):  # personnel rows in full, and withheld
            for what, (params, holds) in asked.items():
                answer = client.get(path, params=params, headers=auth(people, role))
                assert answer.status_code == 200, (path, what, answer.text)
                body = json.loads(answer.content)
                assert body["rows"] and holds(body), (path, what, body)
                answers.check(path, "get", body)
    for template, path, needs in SHAPED_REPORTS:
        for what, (params, holds) in asked.items():
            answer = client.get(path, params={**needs, **params}, headers=auth(people, "viewer"))
            assert answer.status_code == 200, (path, what, answer.text)
            body = json.loads(answer.content)
            assert holds(body) and body["evidence"]["position"] == body["position"], (path, what)
            answers.check(template, "get", body)


def test_the_admin_answers_are_as_the_document_says(
    client: TestClient, people: People, history: int
) -> None:
    answers = Answers(client.get("/openapi.json").json())
    admin = auth(people, "admin")
    started = client.post("/api/admin/projections/journal/rebuild", headers=admin)
    assert started.status_code == 200, started.text
    answers.check("/api/admin/projections/{name}/rebuild", "post", started.json())
    status = client.get("/api/admin/projections", headers=admin)
    assert status.status_code == 200, status.text
    answers.check("/api/admin/projections", "get", status.json())
