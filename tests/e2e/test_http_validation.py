"""Bad input is refused with 422 problem+json (never a 500) and writes nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from starlette.testclient import TestClient

from api.app import create_app
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario, tax_code

TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "errors"}


@dataclass
class World:
    client: TestClient
    ledger: Ledger
    people: People
    application_id: UUID

    def send(self, role: str, path: str, body: Any) -> httpx.Response:
        """POST ``body`` (bytes as they are, anything else as JSON) as a person of ``role``."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {
            "Authorization": f"Bearer {self.people.tokens[role]}",
            "Content-Type": "application/json",
        }
        return self.client.post(path, content=raw, headers=headers)

    def refuses(
        self,
        role: str,
        path: str,
        body: Any,
        loc: list[Any] | None = None,
        code: str = "validation_error",
        why: str = "",
    ) -> dict[str, Any]:
        """Assert a 422 problem with ``code`` (at ``loc``, if given) and nothing written."""
        before = self.ledger.position()
        response = self.send(role, path, body)
        label = why or repr(body)[:80]
        assert response.status_code == 422, f"{label}: {response.status_code} {response.text}"
        assert response.headers["content-type"] == "application/problem+json", label
        problem: dict[str, Any] = response.json()
        assert set(problem) == PROBLEM_KEYS, label
        assert (problem["status"], problem["code"]) == (422, code), label
        assert problem["type"].endswith(code) and problem["title"] and problem["detail"], label
        assert problem["errors"], label
        for error in problem["errors"]:
            assert set(error) == {"loc", "msg"} and isinstance(error["msg"], str), label
            assert error["loc"][0] in {"body", "query", "header"}, label
        if loc is not None:
            assert loc in [e["loc"] for e in problem["errors"]], f"{label}: {problem['errors']}"
        assert self.ledger.position() == before, f"{label}: something was written"
        return problem


@pytest.fixture
def world(ledger: Ledger, people: People) -> Iterator[World]:
    scenario = Scenario(ledger, people)
    scenario.budget(1_000_000_000)
    application_id = scenario.submitted()
    with TestClient(create_app(ledger)) as client:
        yield World(client, ledger, people, application_id)


def budget(**changes: Any) -> dict[str, Any]:
    body = {
        "budget_year": 2015,
        "project": "DA2",
        "source": "city_budget",
        "amount": 5_000_000,
        "decision_no": "QĐ-5/STC",
        "decided_on": "2015-01-05",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def enterprise(**changes: Any) -> dict[str, Any]:
    body = {
        "tax_code": tax_code(),
        "name": "Công ty D",
        "district": "QH-DONGDA",
        "sector": "food",
        "size": "small",
        **changes,
    }
    return body


def application(world: World, **changes: Any) -> dict[str, Any]:
    state = world.ledger.get_application(world.application_id)
    body = {
        "enterprise_id": state["enterprise_id"],
        "dossier_no": "HS-NEW-1",
        "project": "DA2",
        "support_type": "iso_9001",
        "title": "ISO 9001",
        "total_cost": 100_000_000,
        "requested": {"city_budget": 60_000_000, "enterprise": 40_000_000, "other": 0},
        "submitted_on": "2015-02-01",
        **changes,
    }
    return body


def test_bodies_that_are_not_one_json_object_are_refused(world: World) -> None:
    for raw, why in (
        (b'{"amount": ', "malformed JSON"),
        (b"", "an empty body"),
        (b"   ", "a blank body"),
        (b"[]", "an array"),
        (b'[{"amount": 1}]', "an array of objects"),
        (b'"budget"', "a string"),
        (b"42", "a number"),
        (b"null", "null"),
        (b"\xff\xfe\x00garbage", "bytes that are not UTF-8 JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nesting too deep to parse"),
        (b'{"amount": ' + b"[" * 500 + b"]" * 500 + b"}", "nesting too deep to validate"),
        (b'{"amount": 1, "amount": 2}', "a key given twice"),
        (b'{"decision_no": "\\ud800"}', "an unpaired surrogate"),
        (b'{"\\udfff": 1}', "an unpaired surrogate in a key"),
        (json.dumps(budget()).encode()[:-1] + b', "amount": NaN}', "NaN"),
        (b'{"amount": Infinity}', "Infinity"),
        (b'{"amount": -Infinity}', "-Infinity"),
        (b'{"amount": 1e400}', "a float too large to hold"),
        (b'{"amount": ' + b"9" * 5000 + b"}", "an integer of 5000 digits"),
    ):
        world.refuses("finance", "/api/budget-lines", raw, ["body"], why=why)


def test_a_body_over_one_mebibyte_is_refused_with_413_and_writes_nothing(world: World) -> None:
    before = world.ledger.position()
    padding = "x" * (1024 * 1024)
    response = world.send("finance", "/api/budget-lines", budget(decision_no=padding))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert world.ledger.position() == before


def test_money_that_is_not_a_positive_whole_number_of_dong_is_refused(world: World) -> None:
    for amount in (
        0,
        -5,
        1.5,
        0.0,
        -1.0,
        "5000000",
        "5.000.000 ₫",
        10**20,
        10**14 + 1,
        1e20,
        True,
        None,
        [5],
        {"value": 5},
    ):
        world.refuses("finance", "/api/budget-lines", budget(amount=amount), ["body", "amount"])
    # A number with a fraction is no whole number however close: JSON's text is read exactly.
    for text in (b"5000000.5", b"1.0000000000000001", b"5e-1", b"12345678901234567.5"):
        raw = json.dumps(budget(amount=0)).encode().replace(b'"amount": 0', b'"amount": ' + text)
        world.refuses("finance", "/api/budget-lines", raw, ["body", "amount"], why=text.decode())


def test_whole_numbers_written_with_a_fraction_or_exponent_are_whole_numbers(world: World) -> None:
    # JSON Schema counts 254.0 and 2.54e2 as integers; so does the server (issue 10).
    before = world.ledger.position()
    for number, text in enumerate((b"5000000.0", b"5e6", b"5E+6", b"50000.00e2")):
        raw = json.dumps(budget(amount=0, decision_no=f"QĐ-{number}")).encode()
        raw = raw.replace(b'"amount": 0', b'"amount": ' + text)
        raw = raw.replace(b'"budget_year": 2015', b'"budget_year": 2015.0')
        answer = world.send("finance", "/api/budget-lines", raw)
        assert answer.status_code == 201, f"{text!r}: {answer.text}"
    assert world.ledger.position() == before + 4
    [line] = world.ledger.get_budget_lines(2015, "DA2", "city_budget")
    assert line["assigned"] == 1_000_000_000 + 4 * 5_000_000
    # The same request with 5000000 or 5000000.0 is the same request to Idempotency-Key.
    headers = {
        "Authorization": f"Bearer {world.people.tokens['finance']}",
        "Content-Type": "application/json",
        "Idempotency-Key": "whole",
    }
    first = world.client.post("/api/budget-lines", content=json.dumps(budget()), headers=headers)
    again = world.client.post(
        "/api/budget-lines",
        content=json.dumps(budget()).replace('"amount": 5000000', '"amount": 5000000.0'),
        headers=headers,
    )
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    # Shares in a funding split are whole đồng too, and never negative.
    for share in (-1, 0.5, "1"):
        body = application(world, requested={"city_budget": share, "enterprise": 0, "other": 0})
        world.refuses("officer", "/api/applications", body, ["body", "requested", "city_budget"])


def test_wrong_types_and_malformed_values_are_refused(world: World) -> None:
    base = f"/api/applications/{world.application_id}"
    for path, role, body, loc in (
        ("/api/budget-lines", "finance", budget(budget_year="2015"), ["body", "budget_year"]),
        ("/api/budget-lines", "finance", budget(budget_year=2015.5), ["body", "budget_year"]),
        ("/api/budget-lines", "finance", budget(budget_year=2009), ["body", "budget_year"]),
        ("/api/budget-lines", "finance", budget(budget_year=2031), ["body", "budget_year"]),
        ("/api/budget-lines", "finance", budget(project=2), ["body", "project"]),
        ("/api/budget-lines", "finance", budget(decision_no=""), ["body", "decision_no"]),
        ("/api/budget-lines", "finance", budget(decision_no="   "), ["body", "decision_no"]),
        ("/api/budget-lines", "finance", budget(decision_no="x" * 65), ["body", "decision_no"]),
        ("/api/enterprises", "officer", enterprise(name="x" * 501), ["body", "name"]),
        (
            "/api/applications",
            "officer",
            application(world, enterprise_id="not-a-uuid"),
            ["body", "enterprise_id"],
        ),
        (
            "/api/applications",
            "officer",
            application(world, requested=[1, 2, 3]),
            ["body", "requested"],
        ),
        (
            f"{base}/disbursements",
            "officer",
            {"paid_on": "2015-04-01", "amount": 1, "voucher_no": "PC-1", "kind": "gift"},
            ["body", "kind"],
        ),
        (
            f"{base}/acceptance",
            "officer",
            {"accepted_on": "2015-09-01", "result": "passed", "outputs": {"management_systems": 0}},
            ["body", "outputs", "management_systems"],
        ),
    ):
        world.refuses(role, path, body, loc)


def test_impossible_and_future_dates_are_refused(world: World) -> None:
    for day in (
        "2015-02-30",
        "2015-13-01",
        "2015-1-5",
        "05/01/2015",
        "2015-01-05T00:00:00",
        20150105,
        TOMORROW,
        "2999-01-01",
        "2009-12-31",
    ):
        world.refuses(
            "finance", "/api/budget-lines", budget(decided_on=day), ["body", "decided_on"]
        )
    base = f"/api/applications/{world.application_id}"
    world.refuses(
        "officer",
        f"{base}/rejection",
        {"decided_on": TOMORROW, "reason": "Không đạt"},
        ["body", "decided_on"],
    )


def test_bad_tax_codes_are_refused(world: World) -> None:
    for code in (
        "123",
        "01012345678",
        "010123456",
        "0101234567-1",
        "0101234567-0011",
        "010123456a",
        "0101234567 ",
        " 0101234567",
        101234567,
        "٠١٠١٢٣٤٥٦٧",
        "０１０１２３４５６７",
    ):
        world.refuses(
            "officer", "/api/enterprises", enterprise(tax_code=code), ["body", "tax_code"]
        )


def test_unknown_catalogue_codes_are_refused(world: World) -> None:
    base = f"/api/applications/{world.application_id}"
    activity = {
        "department": "SKHCN",
        "project": "DA2",
        "kind": "training",
        "title": "Tập huấn",
        "budget_year": 2015,
        "budget": 1_000_000,
        "decision_no": "QĐ-1",
        "approved_on": "2015-03-01",
    }
    for role, path, body, loc in (
        ("finance", "/api/budget-lines", budget(project="DA9"), ["body", "project"]),
        ("finance", "/api/budget-lines", budget(project="da2"), ["body", "project"]),
        ("finance", "/api/budget-lines", budget(source="state"), ["body", "source"]),
        (
            "officer",
            "/api/applications",
            application(world, support_type="nope"),
            ["body", "support_type"],
        ),
        ("officer", "/api/enterprises", enterprise(district="QH-NOWHERE"), ["body", "district"]),
        ("officer", "/api/enterprises", enterprise(sector="mining"), ["body", "sector"]),
        ("officer", "/api/enterprises", enterprise(size="huge"), ["body", "size"]),
        ("officer", "/api/activities", {**activity, "department": "SXYZ"}, ["body", "department"]),
        ("officer", "/api/activities", {**activity, "kind": "party"}, ["body", "kind"]),
        (
            "admin",
            "/api/users",
            {"name": "X", "role": "root", "department": "SKHCN"},
            ["body", "role"],
        ),
        (
            "admin",
            "/api/users",
            {"name": "X", "role": "viewer", "department": "SXYZ"},
            ["body", "department"],
        ),
        (
            "officer",
            f"{base}/acceptance",
            {"accepted_on": "2015-09-01", "result": "passed", "outputs": {"happiness": 1}},
            ["body", "outputs", "happiness", "[key]"],
        ),
    ):
        world.refuses(role, path, body, loc)
    # A support type that belongs to another project is refused by the domain, same shape.
    world.refuses(
        "officer",
        "/api/applications",
        application(world, project="DA1", support_type="iso_9001"),
        ["body", "support_type"],
    )


def test_unknown_missing_and_path_fields_are_refused(world: World) -> None:
    app_id = str(world.application_id)
    base = f"/api/applications/{app_id}"
    appraisal = {
        "appraised_on": "2015-02-15",
        "recommended": {"city_budget": 1, "enterprise": 0, "other": 0},
    }
    for role, path, body, loc in (
        ("finance", "/api/budget-lines", budget(note="thêm"), ["body", "note"]),
        ("finance", "/api/budget-lines", budget(amount=...), ["body", "amount"]),
        ("finance", "/api/budget-lines", {}, ["body", "budget_year"]),
        ("finance", "/api/budget-lines", budget(command_id="0" * 32), ["body", "command_id"]),
        (
            "officer",
            f"{base}/appraisal",
            {**appraisal, "application_id": app_id},
            ["body", "application_id"],
        ),
        (
            "officer",
            f"{base}/appraisal",
            {**appraisal, "recommended": {"city_budget": 1}},
            ["body", "recommended", "enterprise"],
        ),
        ("officer", f"{base}/appraisal", {**appraisal, "extra": None}, ["body", "extra"]),
        (
            "officer",
            f"{base}/disbursements/{app_id}/reversal",
            {"reversed_on": "2015-05-01", "reason": "x", "disbursement_id": app_id},
            ["body", "disbursement_id"],
        ),
        (
            "officer",
            f"/api/enterprises/{app_id}/correction",
            {"corrected_on": "2015-05-01", "reason": "x", "enterprise_id": app_id},
            ["body", "enterprise_id"],
        ),
        (
            "admin",
            f"/api/users/{app_id}/revocation",
            {"reason": "x", "user_id": app_id},
            ["body", "user_id"],
        ),
    ):
        world.refuses(role, path, body, loc)


def test_a_funding_split_that_does_not_add_up_is_refused(world: World) -> None:
    body = application(
        world,
        total_cost=100_000_000,
        requested={"city_budget": 60_000_000, "enterprise": 30_000_000, "other": 0},
    )
    problem = world.refuses(
        "officer", "/api/applications", body, ["body", "requested"], code="funding_split_mismatch"
    )
    assert "90.000.000 ₫" in problem["detail"] and "100.000.000 ₫" in problem["detail"]


def test_bad_query_parameters_are_refused(world: World) -> None:
    token = {"Authorization": f"Bearer {world.people.tokens['viewer']}"}
    for query, loc in (
        ("budget_year=abc", ["query", "budget_year"]),
        ("budget_year=1.5", ["query", "budget_year"]),
        ("budget_year=2009", ["query", "budget_year"]),
        ("project=DA9", ["query", "project"]),
        ("source=state", ["query", "source"]),
        ("year=2015", ["query", "year"]),
        ("budget_year=2015&budget_year=2016", ["query", "budget_year"]),
    ):
        response = world.client.get(f"/api/budget-lines?{query}", headers=token)
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert loc in [e["loc"] for e in response.json()["errors"]], query
    # Empty values mean "no filter", as in a form left blank.
    blank = world.client.get("/api/budget-lines?budget_year=&project=&source=", headers=token)
    assert blank.status_code == 200 and len(blank.json()) == 1


def test_a_correction_that_changes_nothing_is_refused(world: World) -> None:
    enterprise_id = world.ledger.get_application(world.application_id)["enterprise_id"]
    current = world.ledger.get_enterprise(enterprise_id)
    problem = world.refuses(
        "officer",
        f"/api/enterprises/{enterprise_id}/correction",
        {"corrected_on": "2015-05-01", "reason": "Kiểm tra", "name": current["name"]},
    )
    assert problem["errors"] == [{"loc": ["body"], "msg": problem["detail"]}]


def test_text_holding_a_nul_character_is_refused(world: World) -> None:
    # Found by fuzzing on PostgreSQL: accepted, the name then stalled the registers read
    # model for good (PostgreSQL text cannot hold U+0000).
    base = f"/api/applications/{world.application_id}"
    for role, path, body, loc in (
        ("officer", "/api/enterprises", enterprise(name="Công ty\x00A"), ["body", "name"]),
        ("finance", "/api/budget-lines", budget(decision_no="QĐ-\x00"), ["body", "decision_no"]),
        (
            "officer",
            f"{base}/rejection",
            {"decided_on": "2015-02-20", "reason": "\x00"},
            ["body", "reason"],
        ),
    ):
        world.refuses(role, path, body, loc)


def text_fields(world: World) -> list[tuple[str, str, dict[str, Any], str]]:
    """(role, path, a valid body, its text field) for a text field of each kind."""
    base = f"/api/applications/{world.application_id}"
    rejection = {"decided_on": "2015-02-20", "reason": "Không đạt"}
    return [
        ("officer", "/api/enterprises", enterprise(), "name"),
        (
            "admin",
            "/api/users",
            {"name": "Người mới", "role": "viewer", "department": "SCT"},
            "name",
        ),
        ("officer", "/api/applications", application(world), "title"),
        ("officer", "/api/applications", application(world), "dossier_no"),
        ("finance", "/api/budget-lines", budget(), "decision_no"),
        ("officer", f"{base}/rejection", rejection, "reason"),
        (
            "officer",
            f"{base}/appraisal",
            {
                "appraised_on": "2015-02-15",
                "recommended": {"city_budget": 1, "enterprise": 0, "other": 0},
                "note": "Đạt",
            },
            "note",
        ),
    ]


def test_text_of_only_invisible_or_control_characters_is_refused_naming_the_field(
    world: World,
) -> None:
    for role, path, body, field in text_fields(world):
        for text in (
            "\u200b",
            "\u200b\u200c\u200d",
            "\ufeff",
            "\u2060",
            "\x07",
            "\x1b",
            "\x07\x1b\x7f",
            "\u00ad",
            "\u202e",
            "- . -",
            "\u0301",
        ):
            world.refuses(
                role, path, {**body, field: text}, ["body", field], why=f"{field}={text!r}"
            )


def test_control_characters_inside_text_are_refused_naming_the_field_and_the_character(
    world: World,
) -> None:
    for role, path, body, field in text_fields(world):
        for text, code in (
            ("Công\x07ty", "U+0007"),
            ("HS\x1b[31m-1", "U+001B"),
            ("Tên\u200bẩn", "U+200B"),
            ("A\u0085B", "U+0085"),
            ("Số\ue000", "U+E000"),
            ("Số\u0378", "U+0378"),
        ):
            problem = world.refuses(
                role, path, {**body, field: text}, ["body", field], why=f"{field}={text!r}"
            )
            assert code in problem["detail"], problem["detail"]


def test_only_reasons_notes_and_reports_may_run_over_several_lines(world: World) -> None:
    for role, path, body, field in text_fields(world):
        if field in ("reason", "note"):
            continue
        world.refuses(role, path, {**body, field: "Dòng 1\nDòng 2"}, ["body", field])
        world.refuses(role, path, {**body, field: "Cột 1\tCột 2"}, ["body", field])
    base = f"/api/applications/{world.application_id}"
    reason = "Hồ sơ thiếu:\r\n\t- báo cáo tài chính\r\n\t- giấy phép"
    answer = world.send(
        "officer", f"{base}/rejection", {"decided_on": "2015-02-20", "reason": reason}
    )
    assert answer.status_code == 200, answer.text
    [rejected] = [
        e
        for e in world.ledger.get_application_history(world.application_id)
        if e["type"] == "Rejected"
    ]
    assert rejected["data"]["reason"] == "Hồ sơ thiếu:\n\t- báo cáo tài chính\n\t- giấy phép"


def test_vietnamese_typed_decomposed_is_accepted_and_kept_composed(world: World) -> None:
    name = "Công ty Cổ phần Thương mại Đức Việt"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    answer = world.send("officer", "/api/enterprises", enterprise(name=decomposed))
    assert answer.status_code == 201, answer.text
    assert world.ledger.get_enterprise(answer.json()["id"])["name"] == name
    # A number typed decomposed is the same number as typed composed: a duplicate.
    first = world.send("finance", "/api/budget-lines", budget(decision_no="Số 12/QĐ-ĐỀ"))
    assert first.status_code == 201, first.text
    body = application(world, dossier_no="HS-Việt-01")
    assert world.send("officer", "/api/applications", body).status_code == 201
    decomposed_number = unicodedata.normalize("NFD", "HS-Việt-01")
    again = world.send("officer", "/api/applications", {**body, "dossier_no": decomposed_number})
    assert (again.status_code, again.json()["code"]) == (409, "duplicate"), again.text


def test_a_nul_character_in_a_query_value_is_refused(world: World) -> None:
    # Found by fuzzing on PostgreSQL: GET /api/applications?q=%00 answered 500.
    token = {"Authorization": f"Bearer {world.people.tokens['inspector']}"}
    for path, name in (
        ("/api/applications", "q"),
        ("/api/reports/audit-trail", "actor"),
        ("/api/reports/audit-trail", "event_type"),
        ("/api/budget-lines", "project"),
    ):
        response = world.client.get(f"{path}?{name}=a%00b", headers=token)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert ["query", name] in [e["loc"] for e in response.json()["errors"]], path


def test_the_openapi_document_states_what_validation_refuses(world: World) -> None:
    # Found by schemathesis: requests valid by /openapi.json were refused (dates before 2010
    # or in the future, blank text, a support type of another project, a correction without
    # a value, a tab in Idempotency-Key) and empty query values, refused by it, were accepted.
    document = world.client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    def fits(schema: dict[str, Any], value: str) -> bool:
        return re.search(schema["pattern"], value) is not None

    today = dt.datetime.now(dt.UTC).date().isoformat()
    decided_on = schemas["AssignBudget"]["properties"]["decided_on"]
    for day in ("2010-01-01", "2015-01-05", "2019-12-31", today):
        assert fits(decided_on, day), day
    for day in ("2009-12-31", TOMORROW, "2999-01-01", "2015-1-5", "2015-13-01"):
        assert not fits(decided_on, day), day

    assert schemas["RejectApplication"]["properties"]["reason"]["$ref"].endswith("/Paragraph")
    reason = schemas["Paragraph"]
    assert (reason["format"], reason["minLength"], reason["maxLength"]) == (
        "nscl-multiline-text",
        1,
        500,
    )
    assert "letter or number" in reason["description"]
    rejection = f"/api/applications/{world.application_id}/rejection"
    for text in (" ", "\u3000\u00a0", "x" * 501, " " + "x" * 500, "\u200b"):
        world.refuses(
            "officer", rejection, {"decided_on": "2015-02-20", "reason": text}, ["body", "reason"]
        )

    tax_code = schemas["RegisterEnterprise"]["properties"]["tax_code"]
    assert fits(tax_code, "0101234567") and fits(tax_code, "0101234567-001")
    assert not fits(tax_code, "٠١٠١٢٣٤٥٦٧") and not fits(tax_code, "0101234567-1")

    allowed: dict[str, list[str]] = {}
    for rule in schemas["SubmitApplication"]["allOf"]:
        project = rule["if"]["properties"]["project"]["const"]
        allowed[project] = rule["then"]["properties"]["support_type"]["enum"]
    assert "iso_9001" in allowed["DA2"] and "iso_9001" not in allowed["DA1"]
    assert all("training" in types for types in allowed.values())
    world.refuses(
        "officer",
        "/api/applications",
        application(world, project="DA1", support_type="iso_9001"),
        ["body", "support_type"],
    )

    correction = schemas["CorrectEnterprise"]
    assert {tuple(branch["required"]) for branch in correction["anyOf"]} == {
        ("name",),
        ("district",),
        ("sector",),
        ("size",),
    }
    enterprise_id = world.ledger.get_application(world.application_id)["enterprise_id"]
    world.refuses(
        "officer",
        f"/api/enterprises/{enterprise_id}/correction",
        {"corrected_on": "2015-05-01", "reason": "Kiểm tra", "size": None},
    )

    operation = document["paths"]["/api/budget-lines"]
    key = next(p for p in operation["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert fits(key["schema"], "nhap-du-toan-2015") and not fits(key["schema"], "a\tb")
    headers = {
        "Authorization": f"Bearer {world.people.tokens['finance']}",
        "Idempotency-Key": "a\tb",
    }
    before = world.ledger.position()
    refused = world.client.post("/api/budget-lines", json=budget(), headers=headers)
    assert refused.status_code == 422 and world.ledger.position() == before
    assert ["header", "Idempotency-Key"] in [e["loc"] for e in refused.json()["errors"]]
    for parameter in operation["get"]["parameters"]:  # "?project=" means no filter
        if parameter["in"] == "query":
            assert parameter["allowEmptyValue"] is True, parameter["name"]
