"""Department activity agrees with a count made from the history, credits each figure to
the right department and year, and comes out the same by every path."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, cast

from ledger import commands as c
from ledger.base import LedgerAggregate
from ledger.program_activity import ProgramActivity
from ledger.service import Ledger
from ledger.support_application import SupportApplication
from projections import department_activity
from projections.projector import Projector
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import Scenario

NAME = "department_activity"
SCALE = 0.02
FIGURES = (
    "events",
    "applications_submitted",
    "applications_approved",
    "approved_amount",
    "disbursed_amount",
    "activities",
)


def report(projector: Projector, **filters: Any) -> tuple[int, list[dict[str, Any]]]:
    with projector.reading(NAME) as (connection, tables, position):
        return position, department_activity.report(connection, tables, **filters)


def counted_from_the_history(ledger: Ledger) -> list[dict[str, Any]]:
    """The report, counted event by event from the library's notification log."""
    rows: dict[tuple[int, str], dict[str, Any]] = defaultdict(dict)

    def add(department: str, year: int, figure: str, amount: int = 1) -> None:
        row = rows[(year, department)]
        row[figure] = row.get(figure, 0) + amount

    for notification in ledger.recorder.select_notifications(start=1, limit=10**9):
        # the mapper's events are typed as the library's protocol; the ledger's are all these
        event = cast(LedgerAggregate.Event, ledger.mapper.to_domain_event(notification))
        who, year = event.department, event.effective_date.year
        add(who, year, "events")
        if isinstance(event, SupportApplication.Submitted):
            add(who, year, "applications_submitted")
        elif isinstance(event, SupportApplication.Approved):
            add(who, year, "applications_approved")
            add(who, year, "approved_amount", event.approved["city_budget"])
        elif isinstance(event, SupportApplication.Disbursed):
            add(who, year, "disbursed_amount", event.amount)
        elif isinstance(event, SupportApplication.DisbursementReversed):
            add(who, year, "disbursed_amount", -event.amount)
        elif isinstance(event, ProgramActivity.Approved):
            add(event.department_code, year, "activities")
    return [
        {
            "department": department,
            "budget_year": year,
            **{figure: row.get(figure, 0) for figure in FIGURES},
        }
        for (year, department), row in sorted(rows.items())
    ]


def test_department_activity_matches_a_count_made_from_the_history(ledger: Ledger) -> None:
    # Step 1: the demo, folded by catch-up.
    summary = load_demo(ledger, scale=SCALE)
    projector = Projector(ledger)
    assert projector.catch_up(NAME) == ledger.position()
    position, rows = report(projector)
    assert position == ledger.position()

    # Step 2: every department and year as counted from the history, event by event.
    assert rows == counted_from_the_history(ledger)
    assert sum(r["events"] for r in rows) == ledger.count_events()
    assert sum(r["applications_submitted"] for r in rows) == summary.applications
    assert sum(r["activities"] for r in rows) == summary.activities
    assert sum(r["disbursed_amount"] for r in rows) == sum(
        a["disbursed"] for a in map(ledger.get_application, _applications(ledger))
    )

    # Step 3: the filters keep the rows of a year, of a department, or of both.
    for given in (
        {"budget_year": 2016},
        {"department": "SKHCN"},
        {"budget_year": 2016, "department": "SKHCN"},
        {"budget_year": 1999},
    ):
        expected = [r for r in rows if all(r[k] == v for k, v in given.items())]
        assert report(projector, **given) == (position, expected)


def test_figures_go_to_the_department_and_year_of_who_recorded_them(
    ledger: Ledger, people: People
) -> None:
    # Step 1: SKHCN submits, approves and pays in 2015, reverses a payment in 2016; STC
    # assigns the budget; a district committee's activity is approved by an SKHCN officer.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    app_id = scenario.contracted(city=60_000_000)
    payment = scenario.pay(app_id, 25_000_000)
    scenario.pay(app_id, 10_000_000, "advance")
    ledger.reverse_disbursement(
        c.ReverseDisbursement(
            application_id=app_id,
            disbursement_id=payment,
            reversed_on=dt.date(2016, 1, 10),
            reason="Chi sai tài khoản",
        ),
        people.officer,
    )
    ledger.approve_activity(
        c.ApproveActivity(
            department="QH-CAUGIAY",
            project="DA2",
            kind="training",
            title="Tập huấn ISO",
            budget_year=2015,
            budget=20_000_000,
            decision_no="7/QĐ-SKHCN",
            approved_on=dt.date(2015, 4, 1),
        ),
        people.officer,
    )
    projector = Projector(ledger)
    projector.catch_up(NAME)

    # Step 2: each figure where it belongs.
    _, rows = report(projector)
    by_key = {(r["department"], r["budget_year"]): r for r in rows}
    skhcn = by_key[("SKHCN", 2015)]
    assert skhcn["applications_submitted"] == 1
    assert skhcn["applications_approved"] == 1
    assert skhcn["approved_amount"] == 60_000_000
    assert skhcn["disbursed_amount"] == 35_000_000
    assert skhcn["activities"] == 0
    assert by_key[("SKHCN", 2016)]["disbursed_amount"] == -25_000_000
    assert by_key[("QH-CAUGIAY", 2015)]["activities"] == 1
    assert by_key[("QH-CAUGIAY", 2015)]["events"] == 0
    assert by_key[("STC", 2015)]["events"] == 1  # the budget line's assignment
    assert rows == counted_from_the_history(ledger)


def _applications(ledger: Ledger) -> list[Any]:
    """The id of every application, from the log."""
    return [
        event.originator_id
        for event in map(
            ledger.mapper.to_domain_event,
            ledger.recorder.select_notifications(start=1, limit=10**9),
        )
        if isinstance(event, SupportApplication.Submitted)
    ]
