"""Budget years and support rules are served from memory, but never stale: a year closed or a
rule added by another process is what the next command is decided on (ledger/repository.py,
settled aggregates; the check under the events table's lock in ledger/recorder.py)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest

from ledger import commands as c
from ledger.errors import PeriodClosed, RuleViolation
from ledger.service import Ledger
from tests.support.budget_cycle import M, Year2015, ref
from tests.support.people import People
from tests.support.scenario import D, tax_code


@pytest.fixture
def elsewhere(database_url: str) -> Iterator[Ledger]:
    """A second process's ledger on the same database."""
    other = Ledger(database_url)
    try:
        yield other
    finally:
        other.engine.dispose()


def _register(ledger: Ledger, people: People, on: dt.date) -> int:
    """Register an enterprise dated ``on``; the position written."""
    return ledger.register_enterprise(
        c.RegisterEnterprise(
            tax_code=tax_code(),
            name="Công ty TNHH Hòa Bình",
            district="QH-CAUGIAY",
            sector="industry",
            size="small",
            registered_on=on,
        ),
        people.officer,
    ).position


def test_a_year_closed_by_another_process_refuses_the_next_command_dated_in_it(
    ledger: Ledger, elsewhere: Ledger, people: People
) -> None:
    # Step 1: this process has read 2015 open (it holds it in memory now).
    _register(ledger, people, D(2015, 6, 1))
    # Step 2: another process closes 2015.
    elsewhere.close_budget_year(
        c.CloseBudgetYear(budget_year=2015, closed_on=D(2016, 1, 10)), people.finance
    )
    # Step 3: this process refuses what is dated in 2015 and writes nothing; 2016 is open.
    position = ledger.position()
    with pytest.raises(PeriodClosed, match="2015"):
        _register(ledger, people, D(2015, 12, 30))
    assert ledger.position() == position
    _register(ledger, people, D(2016, 1, 11))
    assert ledger.position() == position + 2  # the enterprise and its tax code


def test_a_year_reopened_by_another_process_takes_commands_again(
    ledger: Ledger, elsewhere: Ledger, people: People
) -> None:
    ledger.close_budget_year(
        c.CloseBudgetYear(budget_year=2015, closed_on=D(2016, 1, 10)), people.finance
    )
    with pytest.raises(PeriodClosed):
        _register(ledger, people, D(2015, 6, 1))
    elsewhere.reopen_budget_year(
        c.ReopenBudgetYear(budget_year=2015, reason="Bổ sung chứng từ"), people.finance
    )
    _register(ledger, people, D(2015, 6, 1))


def test_a_rule_added_by_another_process_caps_the_next_approval(
    ledger: Ledger, elsewhere: Ledger, people: People
) -> None:
    year = Year2015(ledger, people)
    year.assign(2015, 900 * M)
    year.application(60 * M, enterprise=60 * M)  # approved with no rule in force
    elsewhere.add_support_rule(
        c.AddSupportRule(
            support_type="iso_9001",
            max_share_percent=30,
            max_amount=100 * M,
            legal_basis=c.LegalBasis(document_no=ref("QĐ-STC"), signed_on=D(2014, 12, 20)),
            effective_from=D(2015, 1, 1),
        ),
        people.finance,
    )
    with pytest.raises(RuleViolation, match="36.000.000"):  # 30 % of 120M
        year.application(60 * M, enterprise=60 * M)
    line = ledger._line(2015, year.project)
    assert line is not None and line.committed == 60 * M  # the refused approval wrote nothing


def test_nothing_dated_in_a_year_is_written_after_its_close_however_they_race(
    ledger: Ledger, elsewhere: Ledger, people: People
) -> None:
    """Commands dated in 2015 from one process race its close from another: every one that
    was written lies before the close in the log, and every later one was refused."""
    _register(ledger, people, D(2015, 6, 1))  # 2015 is in this process's memory, open
    written: list[int] = []
    refused: list[int] = []
    closed: list[int] = []
    done = threading.Event()

    def register_until_refused() -> None:
        while not done.is_set():
            try:
                written.append(_register(ledger, people, D(2015, 12, 30)))
            except PeriodClosed:
                refused.append(ledger.position())
                return

    worker = threading.Thread(target=register_until_refused)
    worker.start()
    try:
        time.sleep(0.05)
        closed.append(
            elsewhere.close_budget_year(
                c.CloseBudgetYear(budget_year=2015, closed_on=D(2016, 1, 10)), people.finance
            ).position
        )
    finally:
        worker.join(timeout=30)
        done.set()
    assert refused, "the registrations went on after the close"
    assert written and max(written) < closed[0]
