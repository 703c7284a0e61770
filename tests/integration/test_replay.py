"""Bitemporal replay: a report as the log stood (``as_known_at``: a past position or a UTC
time) and as of a business date (``as_of``: events effective by then), folded by the live
projection's own code into a throw-away store, on SQLite and on PostgreSQL.

The reports are read through the same readers the HTTP endpoints call (``api.reports``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from api import reports
from api.read_side import ReadSide
from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.service import Ledger
from projections.replay import position_known_at
from projections.replay_cache import ReplayCache
from projections.source import read_batches
from tests.support.people import People
from tests.support.scenario import Scenario, funding

D = dt.date
UTC = dt.UTC

Reader = Callable[[ReadSide, Any, Any, Actor | None], dict[str, Any]]

#: every report with its reader and query model, as the endpoints pair them
READERS: dict[str, tuple[Reader, type[reports.ViewQuery]]] = {
    "project-spend": (reports.project_spend_report, reports.SpendQuery),
    "department-activity": (reports.department_activity_report, reports.DepartmentQuery),
    "targets": (reports.targets_report, reports.YearQuery),
    "audit-trail": (reports.audit_trail_report, reports.AuditQuery),
    "trial-balance": (reports.trial_balance_report, reports.YearQuery),
    "applications": (reports.applications_report, reports.ApplicationsQuery),
}


def without_root(view: dict[str, Any]) -> dict[str, Any]:
    """A past view without its ``root_hash`` (checked to be a Merkle root: 64 hex digits)."""
    rest = dict(view)
    root = rest.pop("root_hash")
    assert isinstance(root, str) and re.fullmatch("[0-9a-f]{64}", root), root
    return rest


def spend(read_side: ReadSide, **params: Any) -> dict[str, Any]:
    """The project-spend report as the endpoint answers it."""
    return reports.project_spend_report(read_side, {}, reports.SpendQuery(**params), SYSTEM)


def live_spend(read_side: ReadSide) -> dict[str, Any]:
    """The live report, read once the projection has folded everything written so far."""
    ledger = read_side.ledger
    answer = spend(read_side, min_position=ledger.position())
    assert answer["position"] == ledger.position() and "stale" not in answer
    return answer


def city(answer: dict[str, Any], year: int = 2015) -> dict[str, Any]:
    [row] = [r for r in answer["rows"] if r["source"] == "city_budget" and r["budget_year"] == year]
    return row


def counts(answer: dict[str, Any], year: int = 2015) -> dict[str, int]:
    """The applications of DA2 in ``year`` by status, as the report counts them."""
    found = [r for r in answer["applications"] if (r["budget_year"], r["project"]) == (year, "DA2")]
    return found[0]["by_status"] if found else {}


def history_goes_on(scenario: Scenario, contracted: Any) -> None:
    """More history after the moment the tests look back at: a payment, a new year's line,
    an approval and a cancellation."""
    scenario.pay(contracted, 20_000_000, "advance")
    scenario.budget(300_000_000, year=2016)
    scenario.approved(city=30_000_000)
    scenario.settled(city=40_000_000, paid=40_000_000)


# -- as known at ---------------------------------------------------------------------------


def test_project_spend_as_known_at_a_past_position_equals_the_live_report_read_then(
    ledger: Ledger, people: People, read_side: ReadSide
) -> None:
    # Step 1: a line, a settled application and a contracted one; the live report is read
    # at that position P.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    scenario.settled()
    contracted = scenario.contracted(city=50_000_000)
    then = live_spend(read_side)
    position = then["position"]

    # Step 2: history goes on; the live report moves with it.
    history_goes_on(scenario, contracted)
    now = live_spend(read_side)
    assert now["position"] > position
    assert now["rows"] != then["rows"]

    # Step 3: the report as known at P is the one read live at P, and says so.
    past = spend(read_side, as_known_at=str(position))
    assert past["rows"] == then["rows"]
    assert past["position"] == position
    assert without_root(past["view"]) == {
        "as_known_at": position,
        "as_of": None,
        "position": position,
    }

    # Step 4: the filters apply to the past view as to the live one.
    assert spend(read_side, as_known_at=str(position), source="city_budget")["rows"] == [
        row for row in then["rows"] if row["source"] == "city_budget"
    ]

    # Step 5: a live read is as it was before: no view, the head's rows.
    again = live_spend(read_side)
    assert "view" not in again
    assert again["rows"] == now["rows"]


def test_project_spend_as_known_at_a_time_is_the_log_recorded_by_then(
    ledger: Ledger, people: People, read_side: ReadSide
) -> None:
    # Step 1: history up to a moment noted after its last command was written.
    scenario = Scenario(ledger, people)
    users_granted = ledger.position()
    time.sleep(0.01)
    before_the_program = dt.datetime.now(UTC)
    time.sleep(0.01)
    scenario.budget(500_000_000)
    contracted = scenario.contracted(city=50_000_000)
    then = live_spend(read_side)
    time.sleep(0.01)
    moment = dt.datetime.now(UTC)
    time.sleep(0.01)

    # Step 2: more history after the moment.
    history_goes_on(scenario, contracted)

    # Step 3: as known at the moment is the log up to its last command before the moment.
    past = spend(read_side, as_known_at=moment.isoformat().replace("+00:00", "Z"))
    assert past["rows"] == then["rows"]
    assert past["position"] == then["position"]
    assert without_root(past["view"]) == {
        "as_known_at": moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "as_of": None,
        "position": then["position"],
    }

    # Step 4: the same moment written in Hanoi's time zone is the same view.
    hanoi = moment.astimezone(dt.timezone(dt.timedelta(hours=7))).isoformat()
    assert spend(read_side, as_known_at=hanoi)["rows"] == then["rows"]

    # Step 5: before the program's first event only the users (the fixture's) were known.
    nothing = spend(read_side, as_known_at=before_the_program.isoformat())
    assert nothing["position"] == users_granted
    assert nothing["rows"] == []


def test_a_time_inside_a_command_is_known_with_the_whole_command(
    ledger: Ledger, people: People, read_side: ReadSide
) -> None:
    # Step 1: an approval: one command, two events (the application's and its line's),
    # each with its own recorded time.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    application = scenario.appraised()
    before = ledger.position()
    scenario.approve(application, 60_000_000, 40_000_000)
    with ledger.engine.connect() as connection:
        [[approved, committed]] = list(read_batches(ledger, connection, before, 10))

    # Step 2: a time between the two events' times knows the whole approval.
    start, end = approved.event.timestamp, committed.event.timestamp
    middle = start + (end - start) / 2
    assert position_known_at(ledger, middle) == committed.position
    past = spend(read_side, as_known_at=middle.isoformat())
    assert past["position"] == committed.position
    assert city(past)["committed"] == 60_000_000

    # Step 3: so does the position of its first event: no reader ever saw half a command.
    half = spend(read_side, as_known_at=str(approved.position))
    assert without_root(half["view"]) == {
        "as_known_at": approved.position,
        "as_of": None,
        "position": committed.position,
    }
    assert half["rows"] == past["rows"]
    assert spend(read_side, as_known_at=str(before))["position"] == before


def test_the_position_known_at_any_time_is_the_prefix_of_the_log_recorded_by_then(
    ledger: Ledger, people: People
) -> None:
    # Step 1: some history, every event decoded with its recorded time and its command.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    app = scenario.contracted(city=50_000_000)
    scenario.pay(app, 10_000_000)
    with ledger.engine.connect() as connection:
        events = [e for batch in read_batches(ledger, connection, 0, 1000) for e in batch]
    assert len(events) == ledger.position()

    def known_by(moment: dt.datetime) -> int:
        """The log up to the first event recorded after ``moment`` that begins a command
        (what a reader at that moment could have seen), read the slow way."""
        for index, envelope in enumerate(events):
            begins = index == 0 or events[index - 1].event.command_id != envelope.event.command_id
            if envelope.event.timestamp > moment and begins:
                return index
        return len(events)

    # Step 2: at, just before and just after every event's time, the fast resolution agrees.
    tick = dt.timedelta(microseconds=1)
    for envelope in events:
        for moment in (
            envelope.event.timestamp - tick,
            envelope.event.timestamp,
            envelope.event.timestamp + tick,
        ):
            assert position_known_at(ledger, moment) == known_by(moment), moment
    assert position_known_at(ledger, dt.datetime.now(UTC)) == ledger.position()
    with pytest.raises(ValueError, match="time zone"):
        position_known_at(ledger, dt.datetime(2026, 1, 1))


# -- as of -----------------------------------------------------------------------------------


def test_project_spend_as_of_a_date_leaves_out_later_effective_dates(
    ledger: Ledger, people: People, read_side: ReadSide
) -> None:
    # Step 1: a 2015 line (decided 5 January); an application submitted 1 February,
    # appraised 15 February, approved 1 March, contracted 10 March, advanced 1 April.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    app = scenario.contracted(city=60_000_000)
    contracted_at = ledger.position()
    scenario.pay(app, 20_000_000, "advance")
    known = ledger.position()
    live = live_spend(read_side)

    # Step 2: as of 31 March the approval and the contract count, the advance does not.
    march = spend(read_side, as_of="2015-03-31")
    assert without_root(march["view"]) == {
        "as_known_at": None,
        "as_of": "2015-03-31",
        "position": known,
    }
    assert march["position"] == known
    assert (city(march)["committed"], city(march)["disbursed"]) == (60_000_000, 0)
    assert counts(march) == {"contracted": 1}

    # Step 3: as of 20 February the application is appraised and nothing is committed.
    february = spend(read_side, as_of="2015-02-20")
    assert (city(february)["assigned"], city(february)["committed"]) == (500_000_000, 0)
    assert counts(february) == {"appraised": 1}

    # Step 4: before the line was decided there is nothing; after the last date, everything.
    assert spend(read_side, as_of="2014-12-31")["rows"] == []
    assert spend(read_side, as_of="2015-12-31")["rows"] == live["rows"]

    # Step 5: both axes at once: as known before the advance was written, as of 31 December.
    scenario.pay(app, 5_000_000)
    both = spend(read_side, as_known_at=str(contracted_at), as_of="2015-12-31")
    assert without_root(both["view"]) == {
        "as_known_at": contracted_at,
        "as_of": "2015-12-31",
        "position": contracted_at,
    }
    assert city(both)["disbursed"] == 0
    assert city(spend(read_side, as_of="2015-12-31"))["disbursed"] == 25_000_000


def test_a_record_that_begins_after_the_as_of_date_is_left_out_with_all_its_events(
    ledger: Ledger, people: People, read_side: ReadSide
) -> None:
    # Step 1: an application submitted on 1 February 2016 but returned with a date of
    # 5 February 2015 (the ledger takes the dates written on the papers as they are).
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    enterprise = scenario.enterprise()
    submitted = ledger.submit_application(
        c.SubmitApplication(
            enterprise_id=enterprise,
            dossier_no="HS-2016-001",
            project="DA2",
            support_type="iso_9001",
            title="Áp dụng ISO 9001:2015",
            total_cost=100_000_000,
            requested=funding(60_000_000, 40_000_000),
            submitted_on=D(2016, 2, 1),
        ),
        people.officer,
    )
    ledger.return_application(
        c.ReturnApplication(
            application_id=submitted.id, returned_on=D(2015, 2, 5), reason="Thiếu hồ sơ"
        ),
        people.officer,
    )

    # Step 2: as of the end of 2015 the application did not exist yet: neither its
    # submission nor its (earlier-dated) return is folded, and no projection fails.
    answer = spend(read_side, as_of="2015-12-31")
    assert counts(answer) == {}
    for path, (read, query) in READERS.items():
        assert (
            read(read_side, {}, query(as_of="2015-12-31"), SYSTEM)["position"] == ledger.position()
        ), path
    register = reports.applications_report(
        read_side, {}, reports.ApplicationsQuery(as_of="2015-12-31"), SYSTEM
    )
    assert register["rows"] == []

    # Step 3: as of 2016 it is there, returned.
    later = spend(read_side, as_of="2016-12-31")
    assert counts(later, 2016) == {"returned": 1}


# -- every report ------------------------------------------------------------------------------


@pytest.mark.parametrize("report", list(READERS))
def test_every_report_replayed_as_known_now_equals_the_live_report(
    ledger: Ledger, people: People, read_side: ReadSide, report: str
) -> None:
    # Step 1: some history on every kind of record.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    scenario.settled()
    scenario.approved(city=30_000_000)
    read, query = READERS[report]
    head = ledger.position()

    # Step 2: the live report (once caught up) and its replay as known at the head agree.
    live = read(read_side, {}, query(min_position=head), SYSTEM)
    past = read(read_side, {}, query(as_known_at=str(head)), SYSTEM)
    assert live["position"] == past["position"] == head
    assert without_root(past.pop("view")) == {"as_known_at": head, "as_of": None, "position": head}
    assert past == live
    assert past["rows"], f"{report}: the history gives rows"


# -- the replay cache --------------------------------------------------------------------------


def test_a_finished_replay_is_kept_and_read_again_without_replaying(
    ledger: Ledger, people: People
) -> None:
    # Step 1: some history; a cache of at most two replays.
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    scenario.settled()
    head = ledger.position()
    cache = ReplayCache(max_entries=2)

    def read(position: int, as_of: dt.date | None = None) -> list[Any]:
        with cache.reading(ledger, "project_spend", position, as_of) as (connection, tables, at):
            assert at == position
            rows = connection.execute(tables["project_spend"].select()).mappings()
            return [dict(r) for r in rows]

    # Step 2: the same view twice is replayed once.
    first = read(head)
    assert read(head) == first
    assert (cache.replays, len(cache)) == (1, 1)

    # Step 3: other views are replayed; the least recently used is dropped beyond two.
    earlier = read(head - 1)
    read(head, D(2015, 3, 1))
    assert (cache.replays, len(cache)) == (3, 2)
    assert read(head - 1) == earlier
    assert cache.replays == 3
    read(head)
    assert (cache.replays, len(cache)) == (4, 2)

    # Step 4: readers in several threads asking for a new view at once share one replay.
    answers: list[list[Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(read(head - 2))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4 and all(a == answers[0] for a in answers)
    assert cache.replays == 5
    cache.clear()
    assert len(cache) == 0
