"""One year's estimate over HTTP, role by role, with every refusal on the way, on both
databases: needs from two departments, drafts, a return, the appraisal, the approval that
assigns the year's budget lines, and what GET answers at the end."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from ledger.service import Ledger
from tests.support.estimate_story import YEAR, cast, history

EST = f"/api/estimates/{YEAR}"


def test_one_year_estimate_role_by_role(ledger: Ledger, client: TestClient) -> None:
    people = cast(ledger)
    history(ledger, people)

    def post(who: str, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {people.tokens[who]}"}
        return client.post(EST + path, json=body, headers=headers)

    def refused(answer: Any, status: int, code: str) -> dict[str, Any]:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = answer.json()
        assert problem["code"] == code
        return problem

    def nothing_written(action: Any) -> Any:
        position = ledger.position()
        answer = action()
        assert ledger.position() == position
        return answer

    need = {"project": "DA2", "support_type": "iso_9001", "enterprises": 10, "amount": 2 * 10**8}
    # -- needs: officers of any department, for their own department ---------------------------
    refused(nothing_written(lambda: post("finance", "/needs", need)), 403, "forbidden")
    refused(nothing_written(lambda: post("leader", "/needs", need)), 403, "forbidden")
    wrong_type = {**need, "support_type": "patent"}
    refused(nothing_written(lambda: post("sct", "/needs", wrong_type)), 422, "validation_error")
    reported = post("sct", "/needs", {**need, "note": "Doanh nghiệp ngành công thương"})
    assert reported.status_code == 201, reported.text
    assert set(reported.json()) == {"id", "position"}
    district_need = {"project": "DA4", "support_type": "patent", "enterprises": 2, "amount": 10**8}
    assert post("district", "/needs", district_need).status_code == 201
    # -- out of order before any draft ---------------------------------------------------------
    line = {"project": "DA2", "source": "city_budget", "amount": 1, "reason": "x"}
    appraisal = {"appraised_on": "2015-10-01", "lines": [line]}
    approval = {"decision_no": "QĐ-UBND-2016", "decided_on": "2015-12-20"}
    refused(
        nothing_written(lambda: post("finance", "/appraisal", appraisal)), 409, "invalid_transition"
    )
    refused(
        nothing_written(lambda: post("leader", "/approval", approval)), 409, "invalid_transition"
    )
    refused(
        nothing_written(lambda: post("finance", "/return", {"reason": "x"})),
        409,
        "invalid_transition",
    )
    # -- the draft: SKHCN officers only ----------------------------------------------------------
    prepared = {"prepared_on": "2015-07-01"}
    refused(nothing_written(lambda: post("finance", "/draft", prepared)), 403, "forbidden")
    problem = refused(
        nothing_written(lambda: post("district", "/draft", prepared)), 403, "forbidden"
    )
    assert "SKHCN" in problem["detail"]
    first = post("officer", "/draft", prepared)
    assert first.status_code == 200, first.text
    drafted = first.json()
    assert drafted["version"] == 1
    for each in drafted["lines"]:
        assert each["amount"] == sum(item["amount"] for item in each["justification"])
    second = post("officer", "/draft", prepared).json()
    assert second["version"] == 2 and second["lines"] == drafted["lines"]
    # -- returned, redrafted --------------------------------------------------------------------
    refused(nothing_written(lambda: post("officer", "/return", {"reason": "x"})), 403, "forbidden")
    assert post("finance", "/return", {"reason": "Thiếu thuyết minh DA4"}).status_code == 200
    refused(
        nothing_written(lambda: post("finance", "/appraisal", appraisal)), 409, "invalid_transition"
    )
    third = post("officer", "/draft", prepared).json()
    assert third["version"] == 3
    # -- the appraisal: finance; every change with its reason --------------------------------------
    da2 = next(x for x in third["lines"] if x["project"] == "DA2")
    cut = {"project": "DA2", "source": "city_budget", "amount": da2["amount"] - 10**8}
    no_reason = {"appraised_on": "2015-10-01", "lines": [cut]}
    refused(nothing_written(lambda: post("officer", "/appraisal", no_reason)), 403, "forbidden")
    problem = refused(
        nothing_written(lambda: post("finance", "/appraisal", no_reason)), 422, "validation_error"
    )
    assert "DA2 city_budget science_recurrent" in problem["detail"]
    assert problem["errors"][0]["loc"] == ["body", "lines", 0, "reason"]
    twice = {
        "appraised_on": "2015-10-01",
        "lines": [{**cut, "reason": "a"}, {**cut, "reason": "b"}],
    }
    refused(nothing_written(lambda: post("finance", "/appraisal", twice)), 422, "validation_error")
    enterprise = {
        "appraised_on": "2015-10-01",
        "lines": [{**cut, "source": "enterprise", "reason": "a"}],
    }
    refused(
        nothing_written(lambda: post("finance", "/appraisal", enterprise)), 422, "validation_error"
    )
    appraised = {"appraised_on": "2015-10-01", "lines": [{**cut, "reason": "Giảm 100 triệu"}]}
    assert post("finance", "/appraisal", appraised).status_code == 200
    # -- nothing more to report, draft or appraise ------------------------------------------------
    refused(nothing_written(lambda: post("sct", "/needs", need)), 409, "invalid_transition")
    refused(nothing_written(lambda: post("officer", "/draft", prepared)), 409, "invalid_transition")
    refused(
        nothing_written(lambda: post("finance", "/appraisal", appraised)), 409, "invalid_transition"
    )
    # -- the approval: leaders; it assigns the year's lines ---------------------------------------
    refused(nothing_written(lambda: post("finance", "/approval", approval)), 403, "forbidden")
    refused(nothing_written(lambda: post("officer", "/approval", approval)), 403, "forbidden")
    late = {**approval, "decided_on": "2017-01-05"}
    refused(nothing_written(lambda: post("leader", "/approval", late)), 422, "validation_error")
    approved = post("leader", "/approval", approval)
    assert approved.status_code == 200, approved.text
    assert approved.json()["position"] == ledger.position()
    refused(
        nothing_written(lambda: post("leader", "/approval", approval)), 409, "invalid_transition"
    )
    refused(
        nothing_written(lambda: post("finance", "/return", {"reason": "x"})),
        409,
        "invalid_transition",
    )
    viewer = {"Authorization": f"Bearer {people.tokens['sct']}"}
    lines = client.get(f"/api/budget-lines?budget_year={YEAR}", headers=viewer).json()
    by_key = {(x["project"], x["channel"]): x["assigned"] for x in lines}
    expected = {(x["project"], x["channel"]): x["amount"] for x in third["lines"] if x["amount"]}
    expected["DA2", "science_recurrent"] -= 10**8
    assert by_key == expected
    # -- what the estimate shows ------------------------------------------------------------------
    estimate = client.get(EST, headers=viewer).json()
    assert estimate["status"] == "approved"
    assert [n["department"] for n in estimate["needs"]] == ["SCT", "QH-CAUGIAY"]
    assert [d["version"] for d in estimate["drafts"]] == [1, 2, 3]
    assert estimate["returns"][0]["reason"] == "Thiếu thuyết minh DA4"
    change = next(x for x in estimate["appraisal"]["lines"] if x["project"] == "DA2")
    assert change["change"] == -(10**8) and change["reason"] == "Giảm 100 triệu"
    assert estimate["approval"]["decision_no"] == "QĐ-UBND-2016"
    assert {(x["project"], x["channel"]) for x in estimate["budget_lines"]} == set(expected)
    assert client.get("/api/estimates", headers=viewer).json() == [estimate]
    missing = client.get("/api/estimates/2017", headers=viewer)
    refused(missing, 404, "not_found")
    assert client.get(EST).status_code == 401


def test_the_estimate_answers_are_named_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in ("needs", "draft", "appraisal", "return", "approval"):
        assert "post" in paths[f"/api/estimates/{{budget_year}}/{path}"]
    assert "get" in paths["/api/estimates/{budget_year}"]
    assert "get" in paths["/api/estimates"]
    schemas = document["components"]["schemas"]
    for name in ("EstimateOut", "DraftOut", "DraftLineOut", "JustificationOut", "AppraisalOut"):
        assert schemas[name]["additionalProperties"] is False


def test_a_draft_with_an_idempotency_key_is_answered_once(
    ledger: Ledger, client: TestClient
) -> None:
    people = cast(ledger)
    history(ledger, people)
    headers = {"Authorization": f"Bearer {people.tokens['officer']}", "Idempotency-Key": "d-1"}
    body = {"prepared_on": "2015-07-01"}
    first = client.post(EST + "/draft", json=body, headers=headers)
    assert first.status_code == 200, first.text
    position = ledger.position()
    again = client.post(EST + "/draft", json=body, headers=headers)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert ledger.position() == position
    assert len(ledger.get_estimate(YEAR)["drafts"]) == 1
