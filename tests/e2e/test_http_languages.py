"""Answers in Vietnamese for the officers who ask for it: a problem's ``title``, ``detail`` and
each field's ``msg`` follow ``Accept-Language`` (English unless Vietnamese is preferred),
said by ``Content-Language``, its ``code`` never changing; a browser refused outside the JSON
API gets a Vietnamese page, with the security headers every page carries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from api.web import pages
from api.web.security import HEADERS
from ledger.service import Ledger
from tests.support.people import People, auth
from tests.support.scenario import Scenario

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
A_BAD_ENTERPRISE = {"tax_code": "12345", "district": "QH-BADINH", "sector": "ict", "size": "tiny"}


def problem(response: Any, status: int, code: str, language: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-language"] == language
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"], body["type"]) == (
        status,
        code,
        f"urn:nscl-ledger:problem:{code}",
    )
    return body


def test_a_validation_error_is_answered_in_vietnamese_field_by_field(
    client: TestClient, people: People, ledger: Ledger
) -> None:
    before = ledger.position()
    asked = {**auth(people, "officer"), "Accept-Language": "vi"}
    body = problem(
        client.post("/api/enterprises", json=A_BAD_ENTERPRISE, headers=asked),
        422,
        "validation_error",
        "vi",
    )
    assert body["title"] == "Dữ liệu không hợp lệ"
    assert body["errors"] == [
        {
            "loc": ["body", "tax_code"],
            "msg": "mã số thuế gồm 10 chữ số; với chi nhánh là 10 chữ số, dấu '-' và 3 chữ số",
        },
        {"loc": ["body", "name"], "msg": "Thiếu trường bắt buộc"},
        {"loc": ["body", "size"], "msg": "không có mã quy mô doanh nghiệp 'tiny' trong danh mục"},
    ]
    assert body["detail"] == (
        "Trường tax_code: mã số thuế gồm 10 chữ số; với chi nhánh là 10 chữ số, dấu '-' và 3 "
        "chữ số (và 2 lỗi khác)."
    )
    assert ledger.position() == before


def test_english_answers_read_as_they_always_did(client: TestClient, people: People) -> None:
    for language in (None, "en", "en-US, vi;q=0.5", "fr"):
        headers = auth(people, "officer")
        if language is not None:
            headers["Accept-Language"] = language
        response = client.post("/api/enterprises", json=A_BAD_ENTERPRISE, headers=headers)
        body = problem(response, 422, "validation_error", "en")
        assert body["title"] == "Invalid input"
        assert body["detail"] == (
            "Field tax_code: Value error, a tax code is 10 digits, or 10 digits, '-' and 3 "
            "digits for a branch (and 2 more problems)."
        )
        assert [e["msg"] for e in body["errors"]] == [
            "Value error, a tax code is 10 digits, or 10 digits, '-' and 3 digits for a branch",
            "Field required",
            "Value error, unknown enterprise size code 'tiny'",
        ]


def test_a_record_not_found_is_answered_in_vietnamese(client: TestClient, people: People) -> None:
    nobody = uuid.uuid4()
    headers = {**auth(people), "Accept-Language": "vi-VN"}
    body = problem(
        client.get(f"/api/applications/{nobody}", headers=headers), 404, "not_found", "vi"
    )
    assert (body["title"], body["detail"]) == (
        "Không tìm thấy",
        f"Không có hồ sơ nào mang mã {nobody}.",
    )
    english = problem(
        client.get(f"/api/applications/{nobody}", headers=auth(people)), 404, "not_found", "en"
    )
    assert (english["title"], english["detail"]) == (
        "Not found",
        f"No application with id {nobody}.",
    )
    unknown = problem(client.get("/api/nothing", headers=headers), 404, "not_found", "vi")
    assert (unknown["title"], unknown["detail"]) == (
        "Không tìm thấy",
        "Không có nội dung nào ở địa chỉ này.",
    )


def test_a_step_out_of_order_is_answered_in_vietnamese(
    client: TestClient, people: People, ledger: Ledger
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget(1_000_000_000)
    submitted = scenario.submitted()
    dossier = ledger.get_application(submitted)["dossier_no"]
    before = ledger.position()
    body = problem(
        client.post(
            f"/api/applications/{submitted}/approval",
            json={
                "decision_no": "QĐ-01",
                "decided_on": "2015-03-01",
                "budget_year": 2015,
                "approved": {"city_budget": 60_000_000, "enterprise": 40_000_000, "other": 0},
            },
            headers={**auth(people, "approver"), "Accept-Language": "vi;q=0.9, en;q=0.8"},
        ),
        409,
        "invalid_transition",
        "vi",
    )
    assert body["title"] == "Không được phép ở bước này"
    assert body["detail"] == (
        f"Không thể phê duyệt hồ sơ {dossier}: hồ sơ đang ở trạng thái đã nộp, trong khi việc "
        "này cần hồ sơ ở trạng thái đã thẩm định."
    )
    assert ledger.position() == before


def test_a_request_without_a_token_is_answered_in_vietnamese(client: TestClient) -> None:
    response = client.get("/api/budget-lines", headers={"Accept-Language": "vi"})
    body = problem(response, 401, "unauthorized", "vi")
    assert response.headers["www-authenticate"] == "Bearer"
    assert (body["title"], body["detail"]) == (
        "Cần đăng nhập",
        "Hãy đăng nhập: gửi kèm tiêu đề 'Authorization: Bearer <mã truy cập của bạn>'.",
    )
    revoked = client.get(
        "/api/budget-lines",
        headers={"Authorization": "Bearer not-a-token", "Accept-Language": "vi"},
    )
    assert problem(revoked, 401, "unauthorized", "vi")["detail"] == "Mã truy cập không hợp lệ."


def test_a_browser_gets_a_vietnamese_page_for_an_unknown_address(client: TestClient) -> None:
    response = client.get("/khong-co", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in response.text
    assert "Không tìm thấy nội dung này." in response.text
    assert "<title>Không tìm thấy ·" in response.text
    for name, value in HEADERS.items():
        assert response.headers[name] == value, name
    # a script, and every address of the JSON API, still get problem+json
    assert problem(client.get("/khong-co"), 404, "not_found", "en")["title"] == "Not Found"
    for path in ("/api/nothing", "/api", "/api/applications/not-a-uuid"):
        answer = client.get(path, headers={"Accept": BROWSER})
        assert problem(answer, 404, "not_found", "en")["detail"] == (
            "There is nothing at this address."
        )


def test_a_browser_gets_a_vietnamese_page_for_a_wrong_method_and_a_failure(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> object:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pages, "overview_figures", broken)
    with TestClient(create_app(ledger), raise_server_exceptions=False) as client:
        wrong = client.post("/ho-so", headers={"Accept": BROWSER})
        assert wrong.status_code == 405
        assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
        assert wrong.headers["content-type"].startswith("text/html")
        assert "Địa chỉ này không nhận phương thức yêu cầu đó." in wrong.text
        failed = client.get("/", headers={"Accept": BROWSER})
        assert failed.status_code == 500
        assert failed.headers["content-type"].startswith("text/html")
        assert "Máy chủ gặp sự cố; lỗi không do dữ liệu bạn gửi." in failed.text
        assert "secret internals" not in failed.text
        for name, value in HEADERS.items():
            assert failed.headers[name] == value, name
        as_json = client.get("/", headers={"Accept-Language": "vi"})
        body = problem(as_json, 500, "internal_error", "vi")
        assert body["title"] == "Lỗi máy chủ"
