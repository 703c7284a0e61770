"""``GET /api/applications/{id}/history`` over HTTP: the contract's keys, and each event's leaf hash
and what it changed, as the OpenAPI document describes them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from uuid import UUID

from starlette.testclient import TestClient

from api.routes import HistoryEntryOut
from ledger.service import Ledger
from tests.support.people import People
from tests.support.story import ADVANCE, Story

API_KEYS = {"position", "recorded_at", "effective_date", "type", "actor", "department", "data"}
#: what the history answers besides the contract's keys
ADDED = {"leaf_hash", "changes", "actor_name", "department_name"}


def test_the_history_answers_each_events_leaf_hash_and_changes(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted()
    payment_id = story.pay(app_id, ADVANCE, "advance")
    headers = {"Authorization": f"Bearer {people.tokens['viewer']}"}

    response = client.get(f"/api/applications/{app_id}/history", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    history: list[dict[str, Any]] = response.json()
    assert [e["type"] for e in history] == [
        "Submitted",
        "Appraised",
        "Approved",
        "ContractSigned",
        "Disbursed",
    ]
    for entry in history:
        # the contract's keys, unchanged, plus the new ones.
        assert set(entry) == API_KEYS | ADDED
        assert isinstance(entry["position"], int)
        dt.datetime.fromisoformat(entry["recorded_at"])
        dt.date.fromisoformat(entry["effective_date"])
        assert all(isinstance(entry[k], str) for k in ("type", "actor", "department"))
        assert isinstance(entry["data"], dict)
        assert isinstance(entry["leaf_hash"], str)
        assert re.fullmatch(r"[0-9a-f]{64}", entry["leaf_hash"])
        assert isinstance(entry["changes"], dict) and entry["changes"]
        for path, change in entry["changes"].items():
            assert isinstance(path, str)
            assert set(change) == {"from", "to"}, path
        validated = HistoryEntryOut.model_validate(entry)
        dumped = validated.model_dump(mode="json", by_alias=True, include={"leaf_hash", "changes"})
        assert dumped == {"leaf_hash": entry["leaf_hash"], "changes": entry["changes"]}
    # a viewer may not read personnel data: no names, the rest as the ledger answers it
    assert history == ledger.get_application_history(app_id, personnel=False)
    assert {e["actor_name"] for e in history} == {None}
    assert {e["department_name"] for e in history} == {"Sở Khoa học và Công nghệ"}

    # Ids and money in the changes are JSON as the application itself shows them.
    approved = history[2]["changes"]
    assert approved["status"] == {"from": "appraised", "to": "approved"}
    assert approved["approved"]["to"]["city_budget"] == 60_000_000
    paid = history[4]["changes"]
    assert paid["disbursed"] == {"from": 0, "to": ADVANCE}
    item = paid[f"disbursements[{payment_id}]"]
    assert item["from"] is None and UUID(item["to"]["id"]) == payment_id
    assert item["to"]["amount"] == ADVANCE and isinstance(item["to"]["amount"], int)
    state = client.get(f"/api/applications/{app_id}", headers=headers).json()
    assert item["to"] == state["disbursements"][0]


def test_the_openapi_document_describes_the_leaf_hash_and_the_changes(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/api/applications/{application_id}/history"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    entry = document["components"]["schemas"][schema["items"]["$ref"].rsplit("/", 1)[1]]
    properties = entry["properties"]
    assert set(properties) == API_KEYS | ADDED
    assert set(entry["required"]) == set(properties)
    assert entry["additionalProperties"] is False
    for name in ("leaf_hash", "changes"):
        assert properties[name].get("description"), name
    assert properties["leaf_hash"]["pattern"] == "^[0-9a-f]{64}$"
    change_ref = properties["changes"]["additionalProperties"]["$ref"]
    change = document["components"]["schemas"][change_ref.rsplit("/", 1)[1]]
    assert set(change["properties"]) == {"from", "to"}
    assert set(change["required"]) == {"from", "to"}
    for word in ("disbursements[", "].reversed", "null"):
        assert word in properties["changes"]["description"], word
