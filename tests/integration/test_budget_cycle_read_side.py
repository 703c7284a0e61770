"""The read side of the budget cycle: one year closed with carry-over and cancellation, a
reduction, two channels, counterpart funding pledged and spent, and a line of an old log's
enterprise source; every read path says the same figure for the same thing, and the checks
find the money conserved. On both databases."""

from __future__ import annotations

import uuid
from typing import Any

from ledger.base import Meta
from ledger.budget_line import BudgetLine, budget_line_id
from ledger.checks import check_invariants
from ledger.service import Ledger
from projections import audit_trail, journal
from projections.check import check
from projections.projector import Projector
from tests.support.budget_cycle import (
    DEFAULT,
    FIGURES,
    FUND,
    M,
    Year2015,
    assert_every_read_path_agrees,
)
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import D


def test_every_read_path_says_the_same_of_a_closed_year(ledger: Ledger, people: People) -> None:
    Year2015(ledger, people).build()
    said = assert_every_read_path_agrees(ledger)
    lines = said["GET /api/budget-lines"]
    zero = dict.fromkeys(FIGURES, 0)
    # 2015 on the default channel: 300 − 20 assigned; A 60 + the activity 15 committed (C's
    # 10 released); 25 paid; A's 40 and the activity's 10 carried out; the rest cancelled.
    assert lines[2015, "DA2", DEFAULT] == {
        **zero,
        "assigned": 280 * M,
        "committed": 75 * M,
        "disbursed": 25 * M,
        "carried_out": 50 * M,
        "cancelled": 205 * M,
    }
    assert lines[2015, "DA2", FUND] == {
        **zero,
        "assigned": 100 * M,
        "committed": 30 * M,
        "disbursed": 10 * M,
        "carried_out": 20 * M,
        "cancelled": 70 * M,
    }
    # 2016: what came in is committed at once; A's and B's payments draw on it.
    assert lines[2016, "DA2", DEFAULT] == {
        **zero,
        "assigned": 100 * M,
        "carried_in": 50 * M,
        "committed": 50 * M,
        "disbursed": 40 * M,
        "available": 100 * M,
    }
    assert lines[2016, "DA2", FUND] == {
        **zero,
        "carried_in": 20 * M,
        "committed": 20 * M,
        "disbursed": 20 * M,
    }
    # The old log's enterprise line is no budget line anywhere; counterpart money is pledged
    # (A 40 + B 20, C's 5 cancelled; B's other 10) and spent as recorded at acceptance.
    assert said["project_spend counterpart"] == {
        (2015, "DA2", "enterprise"): {"pledged": 60 * M, "spent": 35 * M},
        (2015, "DA2", "other"): {"pledged": 10 * M, "spent": 0},
    }


def test_the_checks_find_a_closed_year_conserves_money(ledger: Ledger, people: People) -> None:
    Year2015(ledger, people).build()
    assert check_invariants(ledger) == []
    projector = Projector(ledger)
    projector.catch_up()
    assert check(ledger, projector) == []
    with projector.reading("journal") as (connection, tables, _):
        for year in (2015, 2016):
            _, debit, credit = journal.trial_balance(connection, tables, year)
            assert debit == credit > 0


def test_the_checks_find_money_changed_after_a_close(ledger: Ledger, people: People) -> None:
    # Step 1: the closed year; then A's settlement is undone by hand on 2015's line (a
    # release the service would never write there).
    story = Year2015(ledger, people)
    ids = story.build()
    line: Any = ledger.repository.get(budget_line_id(2015, "DA2"))
    assert isinstance(line, BudgetLine)
    line.release(ids["a"], 5 * M, Meta(people.finance, uuid.uuid4(), D(2016, 4, 1)))
    ledger.save(line)
    # Step 2: the line no longer conserves money, and the application does not reconcile.
    details = [p.detail for p in check_invariants(ledger)]
    assert any("assigned 280000000 + carried in 0 ≠ committed 70000000" in d for d in details)
    assert any("committed 70000000 ≠ paid 25000000" in d for d in details)
    assert any("on its budget lines does not reconcile" in d for d in details)


def test_the_audit_trail_tells_the_close_in_vietnamese(ledger: Ledger, people: People) -> None:
    Year2015(ledger, people).build()
    projector = Projector(ledger)
    projector.catch_up()
    with projector.reading("audit_trail") as (connection, tables, _):
        rows, _ = audit_trail.report(connection, tables, page_size=1000)
    said = {r["event_type"]: r["summary"] for r in rows}
    reduced = next(r for r in rows if r["event_type"] == "BudgetLine.Reduced")
    assert reduced["summary"] == (
        "Điều chỉnh giảm dự toán ngân sách thành phố của DA2 năm 2015: 20.000.000 ₫, ngày "
        f"01/06/2015 (QĐ {reduced['references']['decision_no']}), lý do: Điều chỉnh giảm "
        "theo tiến độ."
    )
    assert said["BudgetYear.Closed"] == (
        "Khóa sổ năm ngân sách 2015 ngày 15/01/2016: chuyển nguồn 70.000.000 ₫ sang năm 2016, "
        "hủy dự toán 275.000.000 ₫."
    )
    summaries = [r["summary"] for r in rows]
    assert (
        "Hủy dự toán 70.000.000 ₫ chưa cam kết của dự toán ngân sách thành phố của DA2 năm 2015 "
        "(Quỹ phát triển khoa học và công nghệ) khi khóa sổ ngày 15/01/2016."
    ) in summaries
    assert any(
        s.startswith("Nhận chuyển nguồn 40.000.000 ₫ từ năm 2015 vào dự toán ngân sách thành phố")
        for s in summaries
    )
    accepted = said["SupportApplication.AcceptanceRecorded"]
    assert accepted.endswith(", vốn đối ứng đã chi: vốn doanh nghiệp 35.000.000 ₫.")
    assert said["SupportApplication.CommitmentCarried"].startswith(
        "Chuyển nguồn 40.000.000 ₫ kinh phí đã cam kết chưa chi của hồ sơ HS-"
    )
    assert "Ghi nhận sự kiện" not in " ".join(summaries), "every event has its own sentence"


def test_a_small_demo_says_the_same_by_every_read_path(ledger: Ledger) -> None:
    load_demo(ledger, scale=0.03)
    assert_every_read_path_agrees(ledger)
