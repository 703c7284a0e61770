"""The budget cycle's folds, in memory: events made by the aggregates themselves, folded by
the projections with every row in memory (no database)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import MetaData

from ledger import commands as c
from ledger.access import SYSTEM
from ledger.annual_estimate import AnnualEstimate
from ledger.base import Meta
from ledger.budget_line import BudgetLine
from ledger.budget_year import BudgetYear
from ledger.support_rule import SupportRules
from projections.audit_trail import AuditTrail
from projections.base import Envelope, Projection
from projections.budget_execution import BudgetExecution
from projections.journal import Journal
from projections.project_spend import ProjectSpend

M = 1_000_000
FUND = "science_fund"


def meta(day: dt.date) -> Meta:
    return Meta(SYSTEM, uuid4(), day, {"decision_no": "QĐ-1"})


def fold(cls: type[Projection], events: Iterable[Any]) -> Projection:
    """A projection with every row in memory (as a rebuild keeps them), ``events`` folded."""
    metadata = MetaData()
    tables = {d.name: d.make(metadata, "a") for d in cls.TABLES}
    projection = cls(tables, rebuilding=True)
    positions = itertools.count(1)
    projection.fold(Envelope(next(positions), event) for event in events)
    return projection


def rows(projection: Projection, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return dict(projection.rows(table).rows)


def a_closed_line() -> tuple[list[Any], UUID]:
    """2016 × DA3 on the fund: assigned 100, raised 20, cut 10; a record commits 50, is paid
    30, recovers 5; at the close 25 is carried to 2017 and 60 cancelled."""
    record = uuid4()
    line = BudgetLine.assign(2016, "DA3", "city_budget", FUND, 100 * M, meta(dt.date(2016, 1, 5)))
    line.adjust(20 * M, meta(dt.date(2016, 3, 1)))
    line.reduce(10 * M, "Điều chỉnh giảm", meta(dt.date(2016, 6, 1)))
    line.commit(record, 50 * M, meta(dt.date(2016, 4, 1)))
    line.disburse(record, uuid4(), 30 * M, meta(dt.date(2016, 5, 1)))
    line.recover(record, uuid4(), 5 * M, meta(dt.date(2016, 7, 1)))
    closing = meta(dt.date(2017, 1, 20))
    following = BudgetLine.carry_into(2017, "DA3", FUND, closing)
    line.carry_out(record, 25 * M, closing)
    following.carry_in(record, 25 * M, 2016, closing)
    assert line.cancel_rest(closing) == 60 * M
    return [*line.collect_events(), *following.collect_events()], record


def test_project_spend_gives_a_closed_line_its_own_figures() -> None:
    events, _ = a_closed_line()
    spend = rows(fold(ProjectSpend, events), "project_spend")
    assert spend[2016, "DA3", FUND] == {
        "budget_year": 2016,
        "project": "DA3",
        "channel": FUND,
        "assigned": 110 * M,
        "carried_in": 0,
        "committed": 50 * M,
        "disbursed": 30 * M,
        "recovered": 5 * M,
        "carried_out": 25 * M,
        "cancelled": 60 * M,
    }
    assert spend[2017, "DA3", FUND]["carried_in"] == spend[2017, "DA3", FUND]["committed"] == 25 * M


def test_an_old_logs_enterprise_line_is_no_budget_line() -> None:
    line = BudgetLine.assign(
        2015, "DA2", "enterprise", "science_recurrent", 50 * M, meta(dt.date(2015, 1, 5))
    )
    events = line.collect_events()
    assert rows(fold(ProjectSpend, events), "project_spend") == {}
    assert rows(fold(BudgetExecution, events), "budget_execution") == {}
    assert rows(fold(Journal, events), "journal_balances") == {}


def test_the_journal_balances_every_year_of_a_close() -> None:
    events, _ = a_closed_line()
    balances = rows(fold(Journal, events), "journal_balances")
    for year in (2016, 2017):
        of_year = [b for key, b in balances.items() if key[0] == year]
        assert sum(b["debit"] for b in of_year) == sum(b["credit"] for b in of_year) > 0
    net = {key[-1]: b["debit"] - b["credit"] for key, b in balances.items() if key[0] == 2016}
    assert net["budget_available"] == 0  # a closed line has nothing left
    assert net["carried_out"] == 25 * M
    assert net["budget_cancelled"] == 60 * M
    assert net["commitments"] == 0  # paid 30 − 5 recovered + 25 carried = the 50 committed


def test_budget_execution_keeps_the_latest_draft_and_the_adjustments() -> None:
    # Step 1: the estimate of 2016: drafted twice, appraised lower, approved.
    estimate = AnnualEstimate.open(2016, meta(dt.date(2015, 6, 1)))

    def line(amount: int, **more: Any) -> dict[str, Any]:
        return {
            "project": "DA3",
            "source": "city_budget",
            "channel": FUND,
            "amount": amount,
            **more,
        }

    estimate.draft(10, [line(150 * M, justification=[])], meta(dt.date(2015, 7, 1)))
    estimate.draft(20, [line(130 * M, justification=[])], meta(dt.date(2015, 7, 15)))
    estimate.appraise(
        [line(100 * M, drafted=130 * M, reason="Theo khả năng ngân sách")],
        meta(dt.date(2015, 9, 1)),
    )
    estimate.approve("QĐ-2016", meta(dt.date(2015, 12, 20)))
    # Step 2: the line assigned from it, then executed and closed.
    events, _ = a_closed_line()
    execution = rows(
        fold(BudgetExecution, [*estimate.collect_events(), *events]), "budget_execution"
    )
    row = execution[2016, "DA3", "city_budget", FUND]
    assert {k: v for k, v in row.items() if isinstance(v, int) and k != "budget_year"} == {
        "proposed": 130 * M,
        "appraised": 100 * M,
        "approved": 100 * M,
        "adjusted": 10 * M,  # + 20 − 10 after the first assignment
        "assigned": 110 * M,
        "carried_in": 0,
        "committed": 50 * M,
        "disbursed": 30 * M,
        "recovered": 5 * M,
        "carried_out": 25 * M,
        "cancelled": 60 * M,
    }
    following = execution[2017, "DA3", "city_budget", FUND]
    assert (following["assigned"], following["adjusted"], following["carried_in"]) == (0, 0, 25 * M)


def test_a_line_opened_by_a_carry_over_takes_its_first_increase_as_its_assignment() -> None:
    closing = meta(dt.date(2017, 1, 20))
    opened = BudgetLine.carry_into(2017, "DA3", FUND, closing)
    opened.carry_in(uuid4(), 25 * M, 2016, closing)
    opened.adjust(80 * M, meta(dt.date(2017, 2, 1)))
    opened.adjust(5 * M, meta(dt.date(2017, 5, 1)))
    execution = rows(fold(BudgetExecution, opened.collect_events()), "budget_execution")
    row = execution[2017, "DA3", "city_budget", FUND]
    assert (row["assigned"], row["adjusted"]) == (85 * M, 5 * M)


def sentences(events: Iterable[Any]) -> dict[str, str]:
    """The audit trail's sentence of each event, by event type (the last of each type)."""
    metadata = MetaData()
    trail = AuditTrail({d.name: d.make(metadata, "a") for d in AuditTrail.TABLES}, rebuilding=True)
    for position, event in enumerate(events, 1):
        trail.process_event(event, position)
    return {row["event_type"]: row["summary"] for row in trail.rows("audit_trail").appended}


def test_the_audit_trail_says_each_step_of_the_estimate_and_the_rules_in_vietnamese() -> None:
    estimate = AnnualEstimate.open(2016, meta(dt.date(2015, 6, 1)))
    estimate.report_needs(
        "DA3", "tech_innovation", 4, 2_000 * M, "Nhu cầu quận", meta(dt.date(2015, 6, 10))
    )
    line = {"project": "DA3", "source": "city_budget", "channel": FUND}
    estimate.draft(
        10, [{**line, "amount": 150 * M, "justification": []}], meta(dt.date(2015, 7, 1))
    )
    estimate.return_for_redrafting("Thiếu căn cứ", meta(dt.date(2015, 7, 5)))
    estimate.draft(
        20, [{**line, "amount": 130 * M, "justification": []}], meta(dt.date(2015, 7, 15))
    )
    estimate.appraise(
        [{**line, "drafted": 130 * M, "amount": 100 * M, "reason": "Giảm"}],
        meta(dt.date(2015, 9, 1)),
    )
    estimate.approve("QĐ-2016", meta(dt.date(2015, 12, 20)))
    rules = SupportRules.open("iso_9001", meta(dt.date(2015, 1, 2)))
    rules.add(
        c.AddSupportRule(
            support_type="iso_9001",
            max_share_percent=50,
            max_amount=100 * M,
            legal_basis=c.LegalBasis(document_no="QĐ-MẪU-01", signed_on=dt.date(2015, 1, 2)),
            effective_from=dt.date(2015, 2, 1),
        ),
        meta(dt.date(2015, 1, 2)),
    )
    year = BudgetYear.close_first(2015, 70 * M, 275 * M, meta(dt.date(2016, 1, 15)))
    year.reopen("Bổ sung chứng từ", meta(dt.date(2016, 2, 1)))
    year.close_again(0, 5 * M, meta(dt.date(2016, 2, 10)))
    said = sentences([*estimate.collect_events(), *rules.collect_events(), *year.collect_events()])
    assert said["AnnualEstimate.NeedsReported"] == (
        "SKHCN báo cáo nhu cầu hỗ trợ cho dự toán năm 2016 ngày 10/06/2015: DA3, đổi mới công "
        "nghệ, 4 doanh nghiệp, 2.000.000.000 ₫, ghi chú: Nhu cầu quận."
    )
    assert said["AnnualEstimate.Drafted"] == (
        "Lập dự toán năm 2016 (bản 2) ngày 15/07/2015: 1 dòng, tổng 130.000.000 ₫."
    )
    assert said["AnnualEstimate.Returned"] == (
        "Trả lại dự toán năm 2016 để lập lại ngày 05/07/2015, lý do: Thiếu căn cứ."
    )
    assert said["AnnualEstimate.Appraised"] == (
        "Thẩm định dự toán năm 2016 (bản 2) ngày 01/09/2015: tổng 100.000.000 ₫, 1 dòng điều "
        "chỉnh so với bản dự thảo."
    )
    assert said["AnnualEstimate.Approved"] == (
        "Phê duyệt dự toán năm 2016 ngày 20/12/2015 (QĐ QĐ-2016): tổng 100.000.000 ₫ trên 1 "
        "dòng, giao dự toán năm."
    )
    assert said["SupportRules.RuleSet"].startswith("Ban hành mức hỗ trợ «") and said[
        "SupportRules.RuleSet"
    ].endswith(
        "áp dụng từ ngày 01/02/2015: ngân sách thành phố hỗ trợ tối đa 50% chi phí và không "
        "quá 100.000.000 ₫ (văn bản QĐ-MẪU-01 ngày 02/01/2015)."
    )
    assert said["BudgetYear.Reopened"] == (
        "Mở lại sổ năm ngân sách 2015 ngày 01/02/2016, lý do: Bổ sung chứng từ."
    )
    assert said["BudgetYear.Reclosed"] == (
        "Khóa sổ lại năm ngân sách 2015 ngày 10/02/2016: chuyển nguồn thêm 0 ₫, hủy thêm "
        "5.000.000 ₫ dự toán."
    )
    assert all(not s.startswith("Ghi nhận sự kiện") for s in said.values())
