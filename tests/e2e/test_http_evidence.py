"""The audit trail as a file over HTTP: ``GET /api/reports/audit-trail.xlsx`` and ``.csv``
answer the report's rows as an attachment, refuse bad filters with problem+json, and are in
the OpenAPI document."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from starlette.testclient import TestClient

from api.reports import AuditQuery
from api.routes import AuditExportQuery
from ledger.service import Ledger
from tests.support.evidence import HEADERS, read_csv, read_xlsx
from tests.support.people import People, auth
from tests.support.scenario import Scenario

XLSX = "/api/reports/audit-trail.xlsx"
CSV = "/api/reports/audit-trail.csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report(client: TestClient, people: People, **params: Any) -> dict[str, Any]:
    """Every page of the JSON audit-trail report."""
    rows: list[dict[str, Any]] = []
    page: int | None = 1
    while page is not None:
        answer = client.get(
            "/api/reports/audit-trail",
            params={**params, "page": page, "page_size": 7},
            headers=auth(people),
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows += body["rows"]
        page = body["next_page"]
    return {"position": body["position"], "rows": rows}


def test_the_files_hold_the_reports_rows_as_an_attachment(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    # Step 1: some history, and the position of its last event.
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.contracted()
    position = ledger.position()
    params: dict[str, Any] = {"department": "SKHCN", "from": "2015-01-01", "min_position": position}

    # Step 2: the XLSX: an attachment named after the position, the report's rows.
    answer = client.get(XLSX, params=params, headers=auth(people))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX_TYPE
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="nhat-ky-kiem-toan-{position}.xlsx"'
    )
    assert int(answer.headers["content-length"]) == len(answer.content)
    expected = report(client, people, department="SKHCN", **{"from": "2015-01-01"})
    assert expected["position"] == position
    facts, header, rows = read_xlsx(answer.content)
    assert [cell.value for cell in header] == HEADERS
    assert [row[0].value for row in rows] == [r["position"] for r in expected["rows"]]
    summary = HEADERS.index("Diễn giải")
    assert [row[summary].value for row in rows] == [r["summary"] for r in expected["rows"]]
    assert (facts["position"], facts["department"], facts["from"]) == (
        position,
        "SKHCN",
        "01/01/2015",
    )
    assert facts["min_position"] == f"{position} – đã đạt"

    # Step 3: the CSV: the same rows, in UTF-8 with a BOM, newest first when asked.
    answer = client.get(CSV, params={**params, "order": "desc"}, headers=auth(people, "inspector"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="nhat-ky-kiem-toan-{position}.csv"'
    )
    facts, header, csv_rows = read_csv(answer.content)
    assert header == HEADERS
    assert [int(row[0]) for row in csv_rows] == [r["position"] for r in expected["rows"]][::-1]
    assert facts["order"] == "giảm dần theo vị trí (desc)"
    assert facts["checkpoint"] == "chưa có điểm kiểm tra (no checkpoint yet)"


def test_the_export_keeps_the_reports_filters_and_not_its_paging_or_past_views() -> None:
    # an export holds every page of the live trail: the past views (a replay, which holds no
    # Merkle leaves or checkpoints) are not offered, and are refused like any unknown name
    left_out = {"page", "page_size", "as_known_at", "as_of"}
    assert set(AuditExportQuery.model_fields) == set(AuditQuery.model_fields) - left_out
    for name, field in AuditExportQuery.model_fields.items():
        original = AuditQuery.model_fields[name]
        assert (field.annotation, field.alias, field.default) == (
            original.annotation,
            original.alias,
            original.default,
        ), name
        assert field.metadata == original.metadata, name


@pytest.mark.parametrize("path", [XLSX, CSV])
@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"department": "NOWHERE"}, "department"),
        ({"from": "2015-13-01"}, "from"),
        ({"record_id": "not-a-uuid"}, "record_id"),
        ({"order": "sideways"}, "order"),
        ({"actor": "x" * 65}, "actor"),
        ({"page": "2"}, "page"),
        ({"as_of": "2015-01-01"}, "as_of"),
        ({"as_known_at": "1"}, "as_known_at"),
        ({"min_position": "-1"}, "min_position"),
    ],
)
def test_a_bad_filter_is_refused_with_problem_json(
    client: TestClient, people: People, path: str, params: dict[str, str], where: str
) -> None:
    answer = client.get(path, params=params, headers=auth(people))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "validation_error"
    assert ["query", where] in [error["loc"] for error in body["errors"]]


@pytest.mark.parametrize("path", [XLSX, CSV])
def test_the_files_need_a_valid_token(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_openapi_document_describes_the_two_files(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, media_type, schema in (
        (XLSX, XLSX_TYPE, {"type": "string", "format": "binary"}),
        (CSV, "text/csv", {"type": "string"}),
    ):
        operation = document["paths"][path]["get"]
        assert operation["responses"]["200"]["content"] == {media_type: {"schema": schema}}
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert names == {
            "record_id",
            "actor",
            "department",
            "event_type",
            "from",
            "to",
            "order",
            "min_position",
        }
        assert set(operation["responses"]) == {"200", "401", "404", "422", "500", "503"}
        assert operation["security"] == [{"bearer": []}]


def test_the_xlsx_opens_as_a_workbook_of_two_sheets(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    answer = client.get(XLSX, params={"min_position": ledger.position()}, headers=auth(people))
    assert answer.status_code == 200, answer.text
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["Nhật ký kiểm toán", "Thông tin xuất"]
    sheet = book["Nhật ký kiểm toán"]
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == ledger.position() + 1  # the nine users granted, and the header
