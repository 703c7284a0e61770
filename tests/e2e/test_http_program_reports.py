"""The program, estimate and budget-execution reports over HTTP, as JSON and as XLSX, for
every role, with their refusals; on both databases. The workbooks open with openpyxl, hold
the JSON figures, and their totals are formulas over the cells above that equal the JSON
totals."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet
from starlette.testclient import TestClient

from api.workbooks import MEDIA_TYPE
from ledger.service import Ledger
from tests.support.estimate_story import YEAR, cast, history
from tests.support.http import read_side_of

ROLES = ("officer", "approver", "finance", "leader", "sct", "district")
PROGRAM = f"/api/reports/program?from={YEAR - 1}&to={YEAR}"
ESTIMATE = f"/api/reports/estimate/{YEAR}"
EXECUTION = f"/api/reports/budget-execution?budget_year={YEAR - 1}"


@pytest.fixture
def story(ledger: Ledger, client: TestClient) -> dict[str, str]:
    """2015's history, then 2016's estimate drafted, appraised with a cut and approved."""
    people = cast(ledger)
    history(ledger, people)
    tokens: dict[str, str] = people.tokens

    def post(who: str, path: str, body: dict[str, Any]) -> Any:
        answer = client.post(
            f"/api/estimates/{YEAR}{path}",
            json=body,
            headers={"Authorization": f"Bearer {tokens[who]}"},
        )
        assert answer.status_code < 300, answer.text
        return answer.json()

    draft = post("officer", "/draft", {"prepared_on": "2015-07-01"})
    da2 = next(x for x in draft["lines"] if x["project"] == "DA2")
    cut = {"project": "DA2", "source": "city_budget", "amount": da2["amount"] - 10**8}
    post(
        "finance",
        "/appraisal",
        {"appraised_on": "2015-10-01", "lines": [{**cut, "reason": "Giảm 100 triệu"}]},
    )
    post("leader", "/approval", {"decision_no": "QĐ-UBND-2016", "decided_on": "2015-12-20"})
    read_side_of(client).projector.catch_up()
    return tokens


def get(client: TestClient, token: str, path: str, status: int = 200) -> Any:
    answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status, answer.text
    return answer


def workbooks(
    client: TestClient, token: str, path: str
) -> tuple[openpyxl.Workbook, openpyxl.Workbook]:
    """The report's workbook, as written (formulas) and as last calculated (values)."""
    answer = get(client, token, path + ("&" if "?" in path else "?") + "format=xlsx")
    assert answer.headers["content-type"] == MEDIA_TYPE
    assert answer.headers["content-disposition"].startswith("attachment;")
    return (
        openpyxl.load_workbook(io.BytesIO(answer.content)),
        openpyxl.load_workbook(io.BytesIO(answer.content), data_only=True),
    )


def totals_of(sheet: Worksheet, calculated: Worksheet) -> list[tuple[str, Any, Any]]:
    """Each SUM formula of the sheet: (formula, the sum of its range's cells, its value as
    written beside it)."""
    cached = {c.coordinate: c.value for row in calculated.iter_rows() for c in row}
    found: list[tuple[str, Any, Any]] = []
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("=SUM("):
                top, bottom = re.fullmatch(r"=SUM\((\w+):(\w+)\)", cell.value).groups()  # type: ignore[union-attr]
                col = column_index_from_string(re.sub(r"\d", "", top))
                first, last = int(re.sub(r"\D", "", top)), int(re.sub(r"\D", "", bottom))
                summed = sum(sheet.cell(r, col).value or 0 for r in range(first, last + 1))
                found.append((cell.value, summed, cached.get(cell.coordinate)))
    return found


def values_of(sheet: Worksheet) -> set[Any]:
    return {c.value for row in sheet.iter_rows() for c in row if c.value is not None}


def test_every_role_reads_the_three_reports(client: TestClient, story: dict[str, str]) -> None:
    for role in ROLES:
        program = get(client, story[role], PROGRAM).json()
        assert program["period"] == {
            "from": YEAR - 1,
            "to": YEAR,
            "kind": "period",
            "title": program["period"]["title"],
        }
        assert program["evidence"]["position"] == program["position"]
        assert get(client, story[role], ESTIMATE).json()["stages"] == [
            "proposed",
            "appraised",
            "approved",
        ]
        assert get(client, story[role], EXECUTION).json()["rows"]
    get(client, "not-a-token", PROGRAM, 401)


def test_the_estimate_report_shows_the_appraisals_reason_beside_last_year(
    client: TestClient, story: dict[str, str]
) -> None:
    estimate = get(client, story["finance"], ESTIMATE).json()
    da2 = next(r for r in estimate["rows"] if r["project"] == "DA2")
    assert da2["appraised"] == da2["proposed"] - 10**8 == da2["approved"]
    assert da2["reason"] == "Giảm 100 triệu"
    assert da2["previous"]["disbursed"] == 80_000_000  # 2015: 60 M + 20 M paid
    assert estimate["totals"]["approved"] == sum(r["approved"] for r in estimate["rows"])


def test_the_workbooks_hold_the_json_figures_and_their_totals_are_formulas(
    client: TestClient, story: dict[str, str]
) -> None:
    token = story["leader"]
    for path, answer_totals in (
        (PROGRAM, lambda a: a["money"]["totals"]),
        (ESTIMATE, lambda a: {k: v for k, v in a["totals"].items() if k != "previous"}),
        (EXECUTION, lambda a: a["totals"]),
    ):
        answer = get(client, token, path).json()
        book, calculated = workbooks(client, token, path)
        position = f"{answer['position']:,}".replace(",", ".")
        for sheet in book.worksheets:
            texts = " ".join(str(v) for v in values_of(sheet))
            assert position in texts and answer["evidence"]["root_hash"] in texts, sheet.title
            for formula, summed, cached in totals_of(sheet, calculated[sheet.title]):
                assert summed == cached, (sheet.title, formula)
        cells = set().union(*(values_of(s) for s in calculated.worksheets))
        for total in answer_totals(answer).values():
            assert total in cells, (path, total)
    program = get(client, token, PROGRAM).json()
    book, _ = workbooks(client, token, PROGRAM)
    assert [s.title for s in book.worksheets] == [
        "Mục tiêu",
        "Hỗ trợ doanh nghiệp",
        "Kinh phí",
        "Hoạt động các sở, ngành",
    ]
    assert program["period"]["title"] == book.worksheets[0]["A1"].value
    money = book["Kinh phí"]
    for row in program["money"]["rows"]:
        assert row["disbursed"] in values_of(money)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/reports/program?from=2016&to=2015", "to"),
        ("/api/reports/program?from=2015", "to"),
        ("/api/reports/program?from=1999&to=2015", "from"),
        ("/api/reports/program?from=2015&to=2015&format=pdf", "format"),
        ("/api/reports/program?from=2015&to=2015&year=2015", "year"),
        ("/api/reports/estimate/1999", "budget_year"),
        ("/api/reports/estimate/2016?budget_year=2015", "budget_year"),
        ("/api/reports/budget-execution?budget_year=20x5", "budget_year"),
    ],
)
def test_bad_report_parameters_are_refused_naming_the_parameter(
    client: TestClient, ledger: Ledger, path: str, field: str
) -> None:
    people = cast(ledger)
    answer = get(client, people.tokens["leader"], path, 422)
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_error"
    assert field in problem["detail"], problem
    assert [e["loc"][-1] for e in problem["errors"]] == [field]
