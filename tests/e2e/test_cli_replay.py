"""``ledger replay REPORT``: a report as known at a past position or time, as of a date."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api import reports
from api.cli import cli
from api.read_side import ReadSide
from ledger.access import SYSTEM
from ledger.service import Ledger
from tests.support.cli import one_line_error
from tests.support.people import People
from tests.support.scenario import Scenario

REPORTS = (
    "project-spend",
    "department-activity",
    "targets",
    "audit-trail",
    "trial-balance",
    "applications",
)


def without_root(view: dict[str, Any]) -> dict[str, Any]:
    """A past view without its ``root_hash`` (checked to be a Merkle root: 64 hex digits)."""
    rest = dict(view)
    root = rest.pop("root_hash")
    assert isinstance(root, str) and re.fullmatch("[0-9a-f]{64}", root), root
    return rest


def run(url: str | None, *args: str) -> Result:
    options = ["--database-url", url] if url else []
    return CliRunner().invoke(cli, [*options, *args], prog_name="ledger")


def test_replay_explains_itself_with_help() -> None:
    result = run(None, "replay", "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: ledger replay" in result.stdout
    for option in ("--as-known-at", "--as-of", "--json", "--budget-year"):
        assert option in result.stdout
    assert "project-spend" in result.stdout


def test_replay_shows_a_report_as_known_at_a_position_and_as_of_a_date(
    ledger: Ledger, people: People, database_url: str, read_side: ReadSide
) -> None:
    # Step 1: history: a line and a contracted application (P), then an advance.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    app = scenario.contracted(city=60_000_000)
    position = ledger.position()
    scenario.pay(app, 20_000_000, "advance")

    # Step 2: --json answers what the HTTP endpoint answers for the same view.
    result = run(
        database_url,
        "replay",
        "project-spend",
        "--as-known-at",
        str(position),
        "--budget-year",
        "2015",
        "--json",
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    expected = reports.project_spend_report(
        read_side, {}, reports.SpendQuery(as_known_at=str(position), budget_year=2015), SYSTEM
    )
    assert answer == expected
    assert without_root(answer["view"]) == {
        "as_known_at": position,
        "as_of": None,
        "position": position,
    }

    # Step 3: the table's first line says which view it is; the rows follow.
    table = run(database_url, "replay", "project-spend", "--as-of", "2015-03-31")
    assert table.exit_code == 0, table.output
    first = table.stdout.splitlines()[0]
    assert "as of 2015-03-31" in first and f"position {ledger.position():,}" in first
    assert "city_budget" in table.stdout and "60000000" in table.stdout.replace(",", "")


@pytest.mark.parametrize("report", REPORTS)
def test_replay_prints_every_report(
    ledger: Ledger, people: People, database_url: str, report: str
) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.settled()
    result = run(database_url, "replay", report, "--as-known-at", str(ledger.position()))
    assert result.exit_code == 0, result.output
    assert f"position {ledger.position():,}" in result.stdout.splitlines()[0]


def test_replay_mistakes_are_one_line(ledger: Ledger, people: People, database_url: str) -> None:
    Scenario(ledger, people).budget()
    head = ledger.position()
    for args, says in (
        (["replay", "nothing"], "nothing"),
        (["replay", "project-spend", "--as-known-at", "yesterday"], "--as-known-at"),
        (["replay", "project-spend", "--as-known-at", "2026-11-25T10:00"], "time zone"),
        (["replay", "project-spend", "--as-known-at", str(head + 1)], "--as-known-at"),
        (["replay", "project-spend", "--as-known-at", "0"], "--as-known-at"),
        (["replay", "project-spend", "--as-of", "2015-02-30"], "--as-of"),
        (["replay", "targets", "--source", "city_budget"], "--source"),
        (["replay", "project-spend", "--project", "DA9"], "--project"),
    ):
        message = one_line_error(run(database_url, *args))
        assert says in message, (args, message)


def test_projections_snapshots_makes_the_replay_snapshots_up_to_the_head(
    ledger: Ledger,
    people: People,
    database_url: str,
    read_side: ReadSide,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Step 1: a log of more than one snapshot's worth of events (one every 5 here).
    monkeypatch.setenv("LEDGER_REPLAY_SNAPSHOT_EVERY", "5")
    scenario = Scenario(ledger, people)
    scenario.budget()
    scenario.settled()
    head = ledger.position()

    # Step 2: the command says up to where it made them; a replay then agrees with the live.
    result = run(database_url, "projections", "snapshots")
    assert result.exit_code == 0, result.output
    assert f"every 5 events up to position {head // 5 * 5:,}" in result.stdout
    replayed = run(database_url, "replay", "trial-balance", "--budget-year", "2015", "--json")
    assert replayed.exit_code == 0, replayed.output
    live = reports.trial_balance_report(
        read_side, {}, reports.YearQuery(budget_year=2015, min_position=head), SYSTEM
    )
    answer = json.loads(replayed.stdout)
    assert answer["position"] == head
    assert answer["rows"] == live["rows"] and answer["rows"]


def test_projections_snapshots_says_when_they_are_turned_off(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_REPLAY_SNAPSHOT_EVERY", "0")
    result = run(database_url, "projections", "snapshots")
    assert result.exit_code == 0, result.output
    assert "turned off" in result.stdout


def test_a_bad_snapshot_interval_is_one_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_REPLAY_SNAPSHOT_EVERY", "often")
    error = one_line_error(run(database_url, "projections", "snapshots"))
    assert "LEDGER_REPLAY_SNAPSHOT_EVERY must be a whole number of events" in error
    error = one_line_error(run(database_url, "replay", "project-spend"))
    assert "LEDGER_REPLAY_SNAPSHOT_EVERY" in error
