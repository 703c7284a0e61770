"""journal: balanced postings, a trial balance that nets to zero per budget year and figures
that reconcile with project_spend; budget_execution beside it; each the same by every path."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from ledger import commands as c
from ledger.budget_line import BudgetLine
from ledger.commands import FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR
from ledger.service import Ledger
from projections import budget_execution, journal, project_spend
from projections.projector import Projector
from projections.registry import BY_NAME
from projections.replay import replay
from projections.source import read_batches
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import D, Scenario

FIGURES = (*project_spend.CITY_FIGURES, "available")
DEMO_SCALE = 0.03
MONEY_PROJECTIONS = ("project_spend", "journal", "budget_execution")
B = BudgetLine
MONEY = (
    B.Assigned,
    B.Adjusted,
    B.Committed,
    B.Released,
    B.Disbursed,
    B.DisbursementReversed,
    B.Recovered,
    B.Reduced,
    B.CarriedOut,
    B.CarriedIn,
    B.Cancelled,
)


def projector_of(ledger: Ledger) -> Projector:
    """A projector of the money projections only (the others are tested on their own)."""
    return Projector(ledger, projections=[BY_NAME[n] for n in MONEY_PROJECTIONS])


def demo(ledger: Ledger) -> Projector:
    load_demo(ledger, scale=DEMO_SCALE)
    projector = projector_of(ledger)
    assert projector.catch_up() > 0
    return projector


def spend_figures(projector: Projector) -> dict[tuple[int, str, str, str], dict[str, int]]:
    """project_spend's figures as the journal's balances key them: city-budget rows by
    (year, project, source, channel), counterpart rows with the channel ""."""
    with projector.reading("project_spend") as (connection, tables, _):
        rows = project_spend.report(connection, tables)
        counterpart = project_spend.counterpart(connection, tables)
    figures: dict[tuple[int, str, str, str], dict[str, int]] = {
        (r["budget_year"], r["project"], r["source"], r["channel"]): {f: r[f] for f in FIGURES}
        for r in rows
    }
    for r in counterpart:
        key = (r["budget_year"], r["project"], r["source"], "")
        figures[key] = {"pledged": r["pledged"], "spent": r["spent"]}
    return figures


def nonzero(figures: dict[Any, dict[str, int]]) -> dict[Any, dict[str, int]]:
    """The rows with any figure (a counterpart pledge cancelled leaves zero balances, which
    the report leaves out)."""
    return {key: f for key, f in figures.items() if any(f.values())}


def test_each_money_event_posts_to_the_chart_of_accounts(ledger: Ledger, people: People) -> None:
    # Step 1: the line of 2015 for DA2; one application settled and its overpayment
    # recovered, one cancelled after an advance; both approved with an enterprise share.
    scenario = Scenario(ledger, people)
    scenario.budget(200_000_000)
    settled = scenario.settled(city=60_000_000, paid=60_000_000)
    recovery_id = ledger.order_recovery(
        c.OrderRecovery(
            application_id=settled,
            ordered_on=D(2015, 11, 1),
            amount=10_000_000,
            reason="Chi vượt định mức",
        ),
        people.finance,
    ).id
    ledger.receive_recovery(
        c.ReceiveRecovery(
            application_id=settled,
            recovery_id=recovery_id,
            received_on=D(2015, 11, 20),
            voucher_no="PT-0001",
        ),
        people.finance,
    )
    cancelled = scenario.contracted(city=50_000_000)
    scenario.pay(cancelled, 10_000_000, "advance")
    ledger.cancel_application(
        c.CancelApplication(
            application_id=cancelled, cancelled_on=D(2015, 6, 1), reason="Doanh nghiệp dừng dự án"
        ),
        people.officer,
    )

    # Step 2: the accounts of 2015 and what they give back.
    projector = projector_of(ledger)
    projector.catch_up()
    with projector.reading("journal") as (connection, tables, _):
        rows, total_debit, total_credit = journal.trial_balance(connection, tables, 2015)
        figures = journal.balances(connection, tables)
        postings = tables["journal_postings"]
        recovery = connection.execute(
            select(postings.c.account, postings.c.debit, postings.c.credit, postings.c.memo)
            .where(postings.c.record_id == settled, postings.c.memo.like("Thu hồi%"))
            .order_by(postings.c.line_no)
        ).all()
    assert {r["account"]: (r["debit"], r["credit"]) for r in rows} == {
        **{account: (0, 0) for account in journal.ACCOUNTS},
        "budget_assigned": (0, 200_000_000),
        "budget_available": (140_000_000, 0),
        "disbursements": (70_000_000, 0),
        "recoveries": (0, 10_000_000),
        # the settled application's enterprise share, pledged (the cancelled one's taken back)
        "counterpart_pledged": (0, 40_000_000),
        "counterpart_open": (40_000_000, 0),
    }
    assert total_debit == total_credit == 250_000_000
    [line] = ledger.get_budget_lines(2015, "DA2", "city_budget")
    assert figures[(2015, "DA2", "city_budget", "science_recurrent")] == {
        f: line[f] for f in FIGURES
    }
    assert figures[(2015, "DA2", "enterprise", "")] == {"pledged": 40_000_000, "spent": 0}
    assert [tuple(r) for r in recovery] == [
        ("commitments", 10_000_000, 0, "Thu hồi kinh phí (PT-0001)"),
        ("recoveries", 0, 10_000_000, "Thu hồi kinh phí (PT-0001)"),
    ]


def test_the_trial_balance_nets_to_zero_for_every_budget_year_of_the_demo(ledger: Ledger) -> None:
    projector = demo(ledger)
    with projector.reading("journal") as (connection, tables, _):
        for year in range(FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR + 1):
            rows, total_debit, total_credit = journal.trial_balance(connection, tables, year)
            assert [r["account"] for r in rows] == list(journal.ACCOUNTS)
            if 2011 <= year <= 2020:
                assert total_debit > 0, f"the demo assigns money in {year}"
            assert total_debit == total_credit, f"the trial balance of {year} does not net"
            assert sum(r["debit"] - r["credit"] for r in rows) == 0
        rows, total_debit, total_credit = journal.trial_balance(connection, tables)
    assert total_debit == total_credit > 0
    by_account = {r["account"]: r for r in rows}
    assert by_account["budget_assigned"]["debit"] == 0
    assert by_account["budget_assigned"]["credit"] > 0
    assert by_account["disbursements"]["debit"] > 0


def test_every_money_event_is_posted_and_its_postings_balance(ledger: Ledger) -> None:
    projector = demo(ledger)
    with ledger.engine.connect() as connection:
        money = {
            envelope.position
            for batch in read_batches(ledger, connection, 0, 1000)
            for envelope in batch
            if isinstance(envelope.event, MONEY) and envelope.event.amount
        }
    with projector.reading("journal") as (connection, tables, _):
        postings = tables["journal_postings"]
        per_event = connection.execute(
            select(
                postings.c.position,
                func.sum(postings.c.debit),
                func.sum(postings.c.credit),
                func.count(),
                func.count(func.distinct(postings.c.budget_year)),
            ).group_by(postings.c.position)
        ).all()
        sides = connection.execute(
            select(func.count()).where((postings.c.debit > 0) == (postings.c.credit > 0))
        ).scalar_one()
    assert money <= {row[0] for row in per_event}, "a budget-line event has no postings"
    for position, debit, credit, lines, years in per_event:
        assert debit == credit > 0, f"the postings of event {position} do not balance"
        assert lines % 2 == 0 and years == 1
    assert sides == 0, "every posting line is either a debit or a credit"


def test_journal_balances_equal_project_spend_for_every_year_project_and_source(
    ledger: Ledger,
) -> None:
    projector = demo(ledger)
    spend = spend_figures(projector)
    with projector.reading("journal") as (connection, tables, _):
        figures = journal.balances(connection, tables)
        of_2015 = journal.balances(connection, tables, budget_year=2015)
    assert {key[2] for key in figures} == {"city_budget", "enterprise", "other"}
    assert any(f.get("recovered") for f in figures.values()), "the demo recovers money"
    assert nonzero(figures) == spend
    assert of_2015 == {key: f for key, f in figures.items() if key[0] == 2015}


def test_budget_execution_gives_the_city_budget_lines_by_channel(ledger: Ledger) -> None:
    projector = demo(ledger)
    spend = spend_figures(projector)
    with projector.reading("budget_execution") as (connection, tables, _):
        rows = budget_execution.report(connection, tables)
        of_2015 = budget_execution.report(connection, tables, budget_year=2015)
    assert {r["budget_year"] for r in rows} >= set(range(2011, 2021))
    for row in rows:
        if not any(row[f] for f in project_spend.CITY_FIGURES):
            continue  # an estimate's line nothing was assigned to
        city = spend[(row["budget_year"], row["project"], row["source"], row["channel"])]
        assert {f: row[f] for f in project_spend.CITY_FIGURES} == {
            f: city[f] for f in project_spend.CITY_FIGURES
        }
    assert of_2015 == [r for r in rows if r["budget_year"] == 2015]


def test_the_journal_of_a_prefix_reconciles_too(ledger: Ledger) -> None:
    load_demo(ledger, scale=DEMO_SCALE)
    halfway = ledger.position() // 2
    past = replay(ledger, upto_position=halfway, names=["journal", "project_spend"])
    with past.reading("journal") as (connection, tables, position):
        figures = journal.balances(connection, tables)
        _, total_debit, total_credit = journal.trial_balance(connection, tables)
    assert position == halfway
    assert total_debit == total_credit > 0
    spend = spend_figures(past)
    totals: dict[str, int] = defaultdict(int)
    assert nonzero(figures) == spend
    for found in figures.values():
        for figure, amount in found.items():
            totals[figure] += amount
    assert totals["assigned"] > 0
