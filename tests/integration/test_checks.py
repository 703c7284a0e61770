"""The whole ledger's invariants checked after the fact (``ledger.checks``): nothing to say
about a ledger written through the service, even while it is written; a budget line changed
behind its back is named. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.base import Meta
from ledger.budget_line import BudgetLine
from ledger.checks import check_invariants
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario
from tests.support.story import CITY, ENTERPRISE, Story


def test_check_invariants_reports_a_line_that_does_not_reconcile(
    ledger: Ledger, people: People
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget(100_000_000)
    scenario.settled(city=60_000_000, paid=60_000_000)
    assert check_invariants(ledger) == []
    # Money committed on the line behind the service's back, with no record behind it.
    [row] = ledger.get_budget_lines(2015, "DA2", "city_budget")
    line: Aggregate = ledger.repository.get(UUID(row["id"]))
    assert isinstance(line, BudgetLine)
    line.commit(uuid4(), 5_000_000, Meta(people.approver, uuid4(), dt.date(2015, 5, 1)))
    ledger.save(line)
    problems = check_invariants(ledger)
    assert [p.source for p in problems] == ["budget_line"]
    assert "reconcile" in problems[0].detail


def test_a_check_beside_a_writer_finds_nothing_wrong(ledger: Ledger, people: People) -> None:
    """Approvals and payments commit money on a line while the check reads: it reads every
    record as of one moment, never an application without the line it committed on."""
    story = Story(ledger, people)
    story.budget(900_000_000_000)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            application_id = story.approved(CITY, ENTERPRISE)
            story.sign(application_id)
            story.pay_with(application_id, 1_000_000, f"UNC-{application_id}")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(10):
            assert check_invariants(ledger) == []
    finally:
        stop.set()
        writer.join(timeout=30)
    assert check_invariants(ledger) == []
