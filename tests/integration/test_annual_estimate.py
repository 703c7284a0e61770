"""The annual estimate through the service, on both databases: the draft read from the read
models (reproducible, each line justified to the đồng), the appraisal's changes and reasons,
and the approval assigning the year's budget lines in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from api.read_side import ReadSide
from ledger import commands as c
from ledger.budget_line import BudgetLine
from ledger.errors import EstimateInputsUnavailable, InvalidTransition, ValidationFailed
from ledger.messages import Message
from ledger.service import Ledger
from tests.support.estimate_story import (
    ACTIVITIES_DA1,
    PIPELINE_DA2,
    UNPAID_DA1,
    UNPAID_DA2,
    YEAR,
    Cast,
    appraise,
    cast,
    history,
)


@pytest.fixture
def people(ledger: Ledger) -> Cast:
    """The story's people, and its 2015 written; the read side gives the draft its figures."""
    ReadSide(ledger)
    people = cast(ledger)
    history(ledger, people)
    return people


def needs(ledger: Ledger, people: Cast) -> None:
    ledger.report_needs(
        c.ReportNeeds(
            budget_year=YEAR,
            project="DA2",
            support_type="iso_9001",
            enterprises=10,
            amount=200_000_000,
            note="Doanh nghiệp ngành công thương",
        ),
        people.sct,
    )
    ledger.report_needs(
        c.ReportNeeds(
            budget_year=YEAR,
            project="DA4",
            support_type="patent",
            enterprises=2,
            amount=100_000_000,
        ),
        people.district,
    )


def draft(ledger: Ledger, people: Cast) -> dict[str, Any]:
    written = ledger.draft_estimate(
        c.DraftEstimate(budget_year=YEAR, prepared_on=dt.date(2015, 7, 1)), people.officer
    )
    return {"position": written.position, **written.extra}


def by_key(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(line["project"], line["channel"]): line for line in lines}


def test_each_draft_line_is_the_sum_of_its_justification(ledger: Ledger, people: Cast) -> None:
    needs(ledger, people)
    lines = draft(ledger, people)["lines"]
    assert lines
    for line in lines:
        assert line["amount"] == sum(item["amount"] for item in line["justification"])
        assert all(isinstance(item["amount"], int) for item in line["justification"])
        assert line["source"] == "city_budget"


def test_the_draft_reads_pipeline_needs_activities_and_targets(
    ledger: Ledger, people: Cast
) -> None:
    needs(ledger, people)
    lines = by_key(draft(ledger, people)["lines"])
    da2 = {i["input"]: i["amount"] for i in lines["DA2", "science_recurrent"]["justification"]}
    # 499 enterprises to go over 2016–2020 at 60 M each, less the pipeline and the needs
    shortfall = 499 * 60_000_000 / 5 - PIPELINE_DA2 - 200_000_000
    assert da2 == {
        "pipeline": PIPELINE_DA2,
        "needs": 200_000_000,
        "target:management_systems": round(shortfall),
    }
    da1 = lines["DA1", "science_recurrent"]
    assert [(i["input"], i["amount"]) for i in da1["justification"]] == [
        ("activities", ACTIVITIES_DA1)
    ]
    assert da1["amount"] == ACTIVITIES_DA1
    # unpaid commitments are shown beside the line, never added to it
    assert [(i["input"], i["amount"]) for i in da1["informational"]] == [
        ("unpaid_commitments", UNPAID_DA1)
    ]
    assert lines["DA2", "science_recurrent"]["informational"][0]["amount"] == UNPAID_DA2
    assert lines["DA4", "science_recurrent"]["amount"] == 100_000_000


def test_the_same_ledger_drafts_the_same_lines(ledger: Ledger, people: Cast) -> None:
    needs(ledger, people)
    first = draft(ledger, people)
    second = draft(ledger, people)
    assert second["version"] == first["version"] + 1
    assert second["read_at"] > first["read_at"]  # the first draft is in the log now
    assert second["lines"] == first["lines"]
    drafts = ledger.get_estimate(YEAR)["drafts"]
    assert [d["position"] for d in drafts] == [first["read_at"], second["read_at"]]


def test_a_draft_reads_the_log_as_it_stands_when_drafted(ledger: Ledger, people: Cast) -> None:
    before = by_key(draft(ledger, people)["lines"])
    needs(ledger, people)
    after = by_key(draft(ledger, people)["lines"])
    assert (
        after["DA2", "science_recurrent"]["amount"] == before["DA2", "science_recurrent"]["amount"]
    )  # the needs are within the target's shortfall: they move money, not the total
    assert ("DA4", "science_recurrent") not in before
    assert after["DA4", "science_recurrent"]["amount"] == 100_000_000


def test_without_a_reader_of_the_read_models_a_draft_is_refused(database_url: str) -> None:
    bare = Ledger(database_url)
    try:
        people = cast(bare)
        position = bare.position()
        with pytest.raises(EstimateInputsUnavailable, match="no reader"):
            draft(bare, people)
        assert bare.position() == position
    finally:
        bare.engine.dispose()


def appraise_and_approve(ledger: Ledger, people: Cast) -> list[dict[str, Any]]:
    lines = draft(ledger, people)["lines"]
    more = c.EstimateLine(
        project="DA3",
        source="city_budget",
        channel="science_fund",
        amount=70_000_000,
        reason="Bổ sung từ Quỹ",
    )
    appraise(ledger, people, more)
    return lines


def test_the_appraisal_keeps_unlisted_lines_and_records_each_change(
    ledger: Ledger, people: Cast
) -> None:
    needs(ledger, people)
    lines = by_key(appraise_and_approve(ledger, people))
    appraisal = ledger.get_estimate(YEAR)["appraisal"]
    got = by_key(appraisal["lines"])
    assert got["DA1", "science_recurrent"] | {} == {
        "project": "DA1",
        "source": "city_budget",
        "channel": "science_recurrent",
        "drafted": ACTIVITIES_DA1,
        "amount": 25_000_000,
        "change": -5_000_000,
        "reason": "Giảm theo khả năng ngân sách",
    }
    assert got["DA3", "science_fund"]["drafted"] is None
    assert got["DA3", "science_fund"]["change"] == 70_000_000
    kept = got["DA2", "science_recurrent"]
    assert kept["amount"] == kept["drafted"] == lines["DA2", "science_recurrent"]["amount"]
    assert kept["reason"] is None and kept["change"] == 0


def test_a_change_without_its_reason_is_refused_naming_the_line(
    ledger: Ledger, people: Cast
) -> None:
    draft(ledger, people)
    position = ledger.position()
    with pytest.raises(ValidationFailed, match="DA1 city_budget science_recurrent") as refused:
        ledger.appraise_estimate(
            c.AppraiseEstimate(
                budget_year=YEAR,
                appraised_on=dt.date(2015, 10, 1),
                lines=[c.EstimateLine(project="DA1", source="city_budget", amount=1_000_000)],
            ),
            people.finance,
        )
    assert refused.value.errors[0].loc == ("body", "lines", 0, "reason")
    assert ledger.position() == position
    assert ledger.get_estimate(YEAR)["status"] == "drafted"


def test_the_approval_assigns_the_year_lines_adding_to_a_line_already_there(
    ledger: Ledger, people: Cast
) -> None:
    needs(ledger, people)
    ledger.assign_budget(
        c.AssignBudget(
            budget_year=YEAR,
            project="DA1",
            source="city_budget",
            amount=5_000_000,
            decision_no="QĐ-bổ-sung",
            decided_on=dt.date(2015, 11, 1),
        ),
        people.finance,
    )
    appraise_and_approve(ledger, people)
    written = ledger.approve_estimate(
        c.ApproveEstimate(
            budget_year=YEAR, decision_no="QĐ-UBND-2016", decided_on=dt.date(2015, 12, 20)
        ),
        people.leader,
    )
    estimate = ledger.get_estimate(YEAR)
    approved = by_key(estimate["approval"]["lines"])
    assigned = by_key(ledger.get_budget_lines(YEAR))
    assert set(assigned) == set(approved)
    assert assigned["DA1", "science_recurrent"]["assigned"] == 5_000_000 + 25_000_000
    assert assigned["DA3", "science_fund"]["assigned"] == 70_000_000
    for key, line in approved.items():
        if key != ("DA1", "science_recurrent"):
            assert assigned[key]["assigned"] == line["amount"]
    assert by_key(estimate["budget_lines"]) == assigned
    assert written.position == ledger.position()
    with pytest.raises(InvalidTransition, match="approved"):
        ledger.approve_estimate(
            c.ApproveEstimate(
                budget_year=YEAR, decision_no="QĐ-lần-2", decided_on=dt.date(2015, 12, 21)
            ),
            people.leader,
        )


def test_an_approval_that_fails_half_way_writes_nothing(
    ledger: Ledger, people: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    appraise_and_approve(ledger, people)
    position = ledger.position()
    assign = BudgetLine.assign
    made: list[str] = []

    def failing(*args: Any, **kwargs: Any) -> BudgetLine:
        line = assign(*args, **kwargs)
        made.append(line.project)
        if len(made) == 2:
            raise InvalidTransition(Message("the second line fails"))
        return line

    monkeypatch.setattr(BudgetLine, "assign", failing)
    with pytest.raises(InvalidTransition, match="second line"):
        ledger.approve_estimate(
            c.ApproveEstimate(
                budget_year=YEAR, decision_no="QĐ-UBND-2016", decided_on=dt.date(2015, 12, 20)
            ),
            people.leader,
        )
    assert len(made) == 2
    assert ledger.position() == position
    assert ledger.get_budget_lines(YEAR) == []
    assert ledger.get_estimate(YEAR)["status"] == "appraised"
