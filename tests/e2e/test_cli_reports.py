"""``ledger report program|estimate|execution`` as a newcomer runs them: a summary, the API's
answer with --json, a workbook with --out (never over a file without --force), and a mistake
in one line. On both databases."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from ledger.service import Ledger
from tests.support.budget_cycle import Year2015
from tests.support.cli import one_line_error, run
from tests.support.people import People


def test_the_reports_from_the_command_line(
    ledger: Ledger, people: People, database_url: str, tmp_path: Path
) -> None:
    Year2015(ledger, people).build()
    summary = run(database_url, "report", "program", "--from", "2015", "--to", "2015")
    assert summary.exit_code == 0, summary.output
    assert "năm 2015" in summary.output and "management_systems" in summary.output
    answer = json.loads(
        run(database_url, "report", "program", "--from", "2015", "--to", "2016", "--json").output
    )
    assert answer["money"]["totals"]["disbursed"] == 95_000_000  # 35 M in 2015, 60 M in 2016
    assert answer["evidence"]["position"] == ledger.position()
    execution = json.loads(
        run(database_url, "report", "execution", "--budget-year", "2015", "--json").output
    )
    assert execution["totals"]["carried_out"] == 70_000_000
    assert (
        "Estimate 2016 (nothing drafted)" in run(database_url, "report", "estimate", "2016").output
    )

    out = tmp_path / "bao-cao.xlsx"
    written = run(
        database_url, "report", "program", "--from", "2011", "--to", "2020", "--out", str(out)
    )
    assert written.exit_code == 0, written.output
    book = openpyxl.load_workbook(out, data_only=True)
    assert "tổng kết" in str(book["Kinh phí"]["A1"].value)
    again = one_line_error(
        run(database_url, "report", "program", "--from", "2011", "--to", "2020", "--out", str(out))
    )
    assert "exists" in again and "--force" in again
    forced = run(database_url, "report", "execution", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert openpyxl.load_workbook(out).sheetnames == ["Thực hiện dự toán"]
    assert not list(tmp_path.glob("*.partial"))


def test_report_mistakes_are_one_line(database_url: str, ledger: Ledger) -> None:
    backwards = one_line_error(
        run(database_url, "report", "program", "--from", "2016", "--to", "2015")
    )
    assert "--to" in backwards and "before it begins" in backwards
    assert "--as-of" in one_line_error(
        run(database_url, "report", "estimate", "2016", "--as-of", "2016-02-30")
    )
    assert "1999" in one_line_error(run(database_url, "report", "estimate", "1999"))
    missing = one_line_error(run(database_url, "report", "program", "--from", "2015"))
    assert "--to" in missing
    nowhere = one_line_error(
        run(database_url, "report", "execution", "--out", "/no/such/folder/x.xlsx")
    )
    assert "no folder" in nowhere
