"""`ledger projections check`: problems as data, one per line, non-zero exit on any."""

from __future__ import annotations

import datetime as dt
import threading
from uuid import UUID, uuid4

from click.testing import CliRunner
from eventsourcing.domain import Aggregate
from sqlalchemy import update

from api.cli import cli
from ledger.base import Meta
from ledger.budget_line import BudgetLine
from ledger.problems import Problem
from ledger.service import Ledger
from projections.check import check
from projections.projector import Projector
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import Scenario
from tests.support.story import Story


def test_the_read_models_of_the_demo_reconcile(ledger: Ledger, database_url: str) -> None:
    load_demo(ledger, scale=0.02)
    projector = Projector(ledger)
    projector.catch_up()
    assert check(ledger, projector) == []
    result = CliRunner().invoke(cli, ["--database-url", database_url, "projections", "check"])
    assert result.exit_code == 0, result.output
    assert "reconcile" in result.output


def test_a_read_model_changed_behind_the_folds_back_is_reported(
    ledger: Ledger, database_url: str
) -> None:
    load_demo(ledger, scale=0.02)
    projector = Projector(ledger)
    projector.catch_up()
    # Someone edits the committed figure of one project_spend row by hand.
    with projector.reading("project_spend") as (_, tables, _position):
        spend = tables["project_spend"]
    with ledger.engine.begin() as connection:
        connection.execute(
            update(spend)
            .where(
                spend.c.budget_year == 2015,
                spend.c.project == "DA2",
                spend.c.channel == "science_recurrent",
            )
            .values(committed=spend.c.committed + 1)
        )

    problems = check(ledger, projector)
    kinds = {(p.source, p.kind) for p in problems}
    assert ("journal", "mismatch") in kinds  # the journal no longer agrees with it
    assert ("project_spend", "differs from a fresh fold") in kinds
    assert any("2015/DA2/city_budget/science_recurrent" in p.where for p in problems)

    result = CliRunner().invoke(cli, ["--database-url", database_url, "projections", "check"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) >= len(problems)
    assert any("2015/DA2/city_budget" in line for line in lines)


def test_a_broken_invariant_of_the_ledger_is_reported_too(
    ledger: Ledger, people: People, database_url: str
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget(100_000_000)
    scenario.settled(city=60_000_000, paid=60_000_000)
    # Money committed on the line behind the service's back: every read model folds it
    # alike, only the line no longer reconciles with the records that commit on it.
    [row] = ledger.get_budget_lines(2015, "DA2", "city_budget")
    line: Aggregate = ledger.repository.get(UUID(row["id"]))
    assert isinstance(line, BudgetLine)
    line.commit(uuid4(), 5_000_000, Meta(people.approver, uuid4(), dt.date(2015, 5, 1)))
    ledger.save(line)
    projector = Projector(ledger)
    projector.catch_up()

    detail = (
        "2015 DA2 science_recurrent: committed 65000000 does not reconcile with its records "
        "(60000000)"
    )
    where = f"record {row['id']}"
    expected = Problem("budget_line", "broken invariant", where, detail, record_id=row["id"])
    assert check(ledger, projector) == [expected]

    result = CliRunner().invoke(cli, ["--database-url", database_url, "projections", "check"])
    assert result.exit_code != 0
    assert result.stdout.splitlines() == [
        f"budget_line: broken invariant at record {row['id']}: {detail}"
    ]


def test_a_check_beside_a_live_follower_and_a_writer_finds_nothing_wrong(
    ledger: Ledger, people: People
) -> None:
    """The live models move while the check reads them: each is compared with a fold up to
    the position it reflected when it was read, never with one of another moment."""
    story = Story(ledger, people)
    story.budget(900_000_000)
    projector = Projector(ledger)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            story.submitted()

    threads = [
        threading.Thread(target=projector.follow, args=(stop,), kwargs={"poll_interval": 0.01}),
        threading.Thread(target=write),
    ]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            assert check(ledger, projector) == []
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
