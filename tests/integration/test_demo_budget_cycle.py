"""The demo runs the budget cycle every year 2011–2020: support rules, needs, draft,
appraisal, approval (which assigns the lines), execution, close with carry-over; no year's
budget is set after its approvals and nothing is dated before the program's decision. Runs
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from api.read_side import ReadSide
from demo.reference import END, START
from ledger import catalogue
from ledger.annual_estimate import AnnualEstimate, annual_estimate_id
from ledger.budget_line import BUDGET_LINES, BudgetLine
from ledger.checks import check_invariants
from ledger.program_activity import ProgramActivity
from ledger.service import Ledger
from ledger.support_application import SupportApplication
from projections import check
from projections.projector import Projector
from projections.source import read_batches

YEARS = range(2011, 2021)


@pytest.fixture
def demo_ledger(demo_side: ReadSide) -> Ledger:
    """The package's demo (``tests/integration/conftest.py``), shared by the tests that only
    read it."""
    return demo_side.ledger


def events_of(ledger: Ledger) -> list[Any]:
    with ledger.engine.connect() as connection:
        return [e.event for batch in read_batches(ledger, connection, 0, 1000) for e in batch]


def test_nothing_is_dated_before_the_programs_decision_nor_after_2020(demo_ledger: Ledger) -> None:
    program = [  # users are granted access on the day the demo is loaded
        e.effective_date for e in events_of(demo_ledger) if type(e).__module__ != "ledger.user"
    ]
    assert min(program) >= START == catalogue.PROGRAM.decided_on
    assert max(program) <= END


def test_every_years_estimate_is_approved_before_anything_of_the_year_is_approved(
    demo_ledger: Ledger,
) -> None:
    years = {annual_estimate_id(year): year for year in YEARS}
    estimate_approved: dict[int, dt.date] = {}
    first_line: dict[int, dt.date] = {}
    first_commitment: dict[int, dt.date] = defaultdict(lambda: dt.date.max)
    stages: dict[int, list[str]] = defaultdict(list)
    for event in events_of(demo_ledger):
        on: dt.date = getattr(event, "effective_date", dt.date.max)
        if event.originator_id in years:
            year = years[event.originator_id]
            stages[year].append(type(event).__name__)
            if isinstance(event, AnnualEstimate.Approved):
                estimate_approved[year] = on
        elif isinstance(event, BudgetLine.Assigned | BudgetLine.Adjusted):
            year = BUDGET_LINES[event.originator_id][0]
            first_line.setdefault(year, on)
        elif isinstance(event, SupportApplication.Approved | ProgramActivity.Approved):
            first_commitment[event.budget_year] = min(first_commitment[event.budget_year], on)
    assert set(estimate_approved) == set(YEARS)
    for year in YEARS:
        # rules are older; needs, one draft or more (a return between), appraisal, approval
        assert stages[year][0] == "Opened" and stages[year][-1] == "Approved", stages[year]
        assert stages[year][-2] == "Appraised" and "Drafted" in stages[year]
        assert first_line[year] == estimate_approved[year] < first_commitment[year], year
    assert estimate_approved[2011] < dt.date(2011, 3, 1)
    assert all(estimate_approved[y] < dt.date(y, 1, 1) for y in YEARS if y > 2011)


def test_the_estimates_are_appraised_with_reasons_and_sometimes_returned(
    demo_ledger: Ledger,
) -> None:
    estimates = [demo_ledger.get_estimate(year) for year in YEARS]
    assert {e["status"] for e in estimates} == {"approved"}
    assert sum(len(e["returns"]) for e in estimates) > 0
    changed = [line for e in estimates for line in e["appraisal"]["lines"] if line["change"]]
    assert changed and all(line["reason"] for line in changed)
    departments = {n["department"] for e in estimates for n in e["needs"]}
    assert {"SKHCN", "SCT", "SNNPTNT", "SKHDT"} <= departments


def test_every_year_but_the_last_is_closed_in_january_and_its_lines_balance(
    demo_ledger: Ledger,
) -> None:
    years = {y["budget_year"]: y for y in demo_ledger.get_budget_years()}
    for year in YEARS:
        if year == 2020:
            assert years[year]["status"] == "open"
            continue
        closed_on = dt.date.fromisoformat(years[year]["closed_on"])
        assert years[year]["status"] == "closed" and closed_on.year == year + 1
        assert closed_on.month == 1
    lines = demo_ledger.get_budget_lines()
    assert {line["source"] for line in lines} == {catalogue.CITY_BUDGET}
    assert {line["channel"] for line in lines} == set(catalogue.CHANNELS)
    assert sum(line["carried_out"] for line in lines) > 0
    assert check_invariants(demo_ledger) == []


def test_the_read_models_reconcile_on_the_demo(demo_ledger: Ledger) -> None:
    projector = Projector(demo_ledger)
    projector.catch_up()
    assert check.check(demo_ledger, projector) == []


def test_acceptance_reports_counterpart_spending_near_the_pledge(demo_ledger: Ledger) -> None:
    accepted = [
        e for e in events_of(demo_ledger) if isinstance(e, SupportApplication.AcceptanceRecorded)
    ]
    assert accepted and all(e.counterpart_spent is not None for e in accepted)
    passed = [e for e in accepted if e.result == "passed"]
    for event in passed:
        pledged = demo_ledger.get_application(event.originator_id)["approved"]["enterprise"]
        spent = event.counterpart_spent
        assert spent is not None and 0.8 * pledged <= spent["enterprise"] <= 1.2 * pledged
