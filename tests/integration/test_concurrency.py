"""Invariants under concurrent writers (ARCHITECTURE.md invariant 3: "two approvals racing for the
last money: one wins, the other gets a clear error"), with real threads released together
by a barrier. Each thread has its own ``Ledger`` (its own engine and connections, as
separate server processes would) or all share one (as the threads of one server do).
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from uuid import UUID

import pytest

from ledger.errors import ConcurrencyConflict, Duplicate, ExceedsApproved, InsufficientBudget
from ledger.service import Ledger, Written
from tests.support.concurrency import Ledgers, race, raced, writers_do_not_queue
from tests.support.names import ref
from tests.support.people import People, grant_people
from tests.support.story import Story, figures

SHARING = ["a-ledger-per-thread", "one-shared-ledger"]
#: PostgreSQL: whether the writers of a budget line queue for it (``LedgerRecorder.queue_for``)
QUEUEING = ["writers-queue", "writers-do-not-queue"]
TEN_MILLION = 10_000_000


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "ledger.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def pg_ledgers(pg_url: str) -> Iterator[Ledgers]:
    ledgers = Ledgers(pg_url)
    yield ledgers
    ledgers.dispose()


@pytest.fixture
def sqlite_ledgers(sqlite_url: str) -> Iterator[Ledgers]:
    ledgers = Ledgers(sqlite_url)
    yield ledgers
    ledgers.dispose()


def warm_up(ledger: Ledger, app_id: UUID) -> None:
    """Open a connection and load the records a racer needs, so that racers released together
    reach the store together (a cold connection alone can take longer than a command)."""
    ledger.get_application(app_id)
    ledger.get_budget_lines()


def assert_positions_have_no_gaps(ledger: Ledger) -> None:
    """Losers are turned back before they take a position: positions run 1, 2, 3, …"""
    assert ledger.position() == ledger.count_events()


# -- (a) twenty approvals, room for seven ----------------------------------------------------------


def twenty_approvals_race_for_room_for_seven(
    ledgers: Ledgers, sharing: str, queueing: str = "writers-do-not-queue"
) -> None:
    setup = ledgers.new()
    people = grant_people(setup)
    story = Story(setup, people)
    # A city-budget line with room for exactly seven approvals of 10,000,000.
    story.budget(7 * TEN_MILLION)
    # Twenty appraised applications, each asking 10,000,000 from the city budget.
    applications = [story.appraised(TEN_MILLION, 0) for _ in range(20)]
    histories = {app_id: setup.get_application_history(app_id) for app_id in applications}
    events_before = setup.count_events()
    threads = ledgers.for_threads(20, sharing, setup)
    for ledger, app_id in zip(threads, applications, strict=True):
        warm_up(ledger, app_id)

    # All twenty approvals at once.
    results = race(
        [
            partial(approve, ledger, people, app_id)
            for ledger, app_id in zip(threads, applications, strict=True)
        ]
    )

    # Exactly seven won; the thirteen others were told why, and nothing else went wrong.
    won = [
        app_id
        for app_id, result in zip(applications, results, strict=True)
        if isinstance(result, Written)
    ]
    lost = [app_id for app_id in applications if app_id not in won]
    refusals = [r for r in results if isinstance(r, InsufficientBudget | ConcurrencyConflict)]
    unexpected = [r for r in results if not isinstance(r, Written) and r not in refusals]
    assert unexpected == []
    assert len(won) == 7
    assert len(refusals) == 13
    # What a fresh reader sees: the line is full, not over-committed ...
    reader = ledgers.new()
    assert figures(reader) == {
        "assigned": 7 * TEN_MILLION,
        "committed": 7 * TEN_MILLION,
        "disbursed": 0,
        "recovered": 0,
        "available": 0,
    }
    # ... and the store holds what the seven wrote (Approved + Committed each), no more.
    assert reader.count_events() == events_before + 7 * 2
    for app_id in won:
        assert reader.get_application(app_id)["status"] == "approved"
    for app_id in lost:
        assert reader.get_application(app_id)["status"] == "appraised"
        assert reader.get_application_history(app_id) == histories[app_id]
    if reader.database == "postgresql" and queueing == "writers-do-not-queue":
        # one SQLite file takes one writer at a time
        assert raced(ledgers), "the approvals did not really race"
    if queueing == "writers-queue":  # they met at the line's queue: none lost a race
        assert not raced(ledgers)
        assert not [r for r in results if isinstance(r, ConcurrencyConflict)]
    assert_positions_have_no_gaps(reader)


def approve(ledger: Ledger, people: People, app_id: UUID) -> Written:
    return Story(ledger, people).approve_by(people.approver, app_id, TEN_MILLION, 0)


@pytest.mark.parametrize("queueing", QUEUEING)
@pytest.mark.parametrize("sharing", SHARING)
def test_twenty_approvals_racing_for_room_for_seven_on_postgresql_seven_win(
    pg_ledgers: Ledgers, sharing: str, queueing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if queueing == "writers-do-not-queue":
        writers_do_not_queue(monkeypatch)
    twenty_approvals_race_for_room_for_seven(pg_ledgers, sharing, queueing)


@pytest.mark.parametrize("sharing", SHARING)
def test_twenty_approvals_racing_for_room_for_seven_on_sqlite_seven_win(
    sqlite_ledgers: Ledgers, sharing: str
) -> None:
    twenty_approvals_race_for_room_for_seven(sqlite_ledgers, sharing)


# -- (b) two payments, money for one --------------------------------------------------------------


def pay(ledger: Ledger, people: People, app_id: UUID) -> Written:
    return Story(ledger, people).pay_with(app_id, 6_000_000, ref("PC"))


def test_two_payments_racing_for_the_last_money_of_an_approval_one_wins(
    pg_ledgers: Ledgers,
) -> None:
    setup = pg_ledgers.new()
    people = grant_people(setup)
    story = Story(setup, people)
    story.budget()
    for _ in range(3):
        # 10,000,000 approved, 4,000,000 advanced: 6,000,000 left.
        app_id = story.contracted(TEN_MILLION, 0)
        story.pay(app_id, 4_000_000, "advance")
        events_before = setup.count_events()
        line_before = figures(setup)
        first, second = pg_ledgers.new(), pg_ledgers.new()
        warm_up(first, app_id)
        warm_up(second, app_id)

        # Two officers pay the 6,000,000 at the same moment, on different vouchers.
        results = race([partial(pay, first, people, app_id), partial(pay, second, people, app_id)])

        # One payment went through, the other was refused: never 16,000,000 out of 10.
        assert sorted(type(r).__name__ for r in results) == ["ExceedsApproved", "Written"]
        assert all(isinstance(r, Written | ExceedsApproved) for r in results)
        reader = pg_ledgers.new()
        assert reader.get_application(app_id)["disbursed"] == TEN_MILLION
        assert figures(reader)["disbursed"] == line_before["disbursed"] + 6_000_000
        # Disbursed on the application, the voucher's claim, Disbursed on the line.
        assert reader.count_events() == events_before + 3
    # At least once the loser got as far as the store and was turned back there.
    assert raced(pg_ledgers), "the payments never really raced"
    assert_positions_have_no_gaps(story.ledger)


# -- (c) two registrations of one tax code -------------------------------------------------------


def test_two_registrations_of_the_same_tax_code_racing_one_wins(pg_ledgers: Ledgers) -> None:
    setup = pg_ledgers.new()
    people = grant_people(setup)
    events_before = setup.count_events()
    first, second = pg_ledgers.new(), pg_ledgers.new()
    first.position(), second.position()  # connected before the start

    results = race(
        [
            lambda: Story(first, people).register("0109876543"),
            lambda: Story(second, people).register("0109876543"),
        ]
    )

    assert sorted(type(r).__name__ for r in results) == ["Duplicate", "Written"]
    assert all(isinstance(r, Written | Duplicate) for r in results)
    [registered] = [r for r in results if isinstance(r, Written)]
    reader = pg_ledgers.new()
    assert reader.get_enterprise(registered.id)["tax_code"] == "0109876543"
    # The enterprise and the claim of its tax code; the loser wrote nothing.
    assert reader.count_events() == events_before + 2
    assert_positions_have_no_gaps(reader)


# -- one ledger, many threads ---------------------------------------------------------------------


@pytest.fixture
def busy_interpreter() -> Iterator[None]:
    """Switch threads every 10 µs instead of every 5 ms, so that threads of one process
    interleave inside each other's Python code as they do under load."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def test_one_shared_ledger_answers_reads_while_it_writes_the_same_application(
    ledger: Ledger, people: People, busy_interpreter: None
) -> None:
    # The threads of one server share one ledger: one officer keeps paying 1 đồng into an
    # application while three dashboards keep reading it.
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(TEN_MILLION, 0)
    for _ in range(10):
        story.pay(app_id, 1)
    payments: list[UUID] = []
    problems: list[BaseException] = []
    stop = threading.Event()

    def officer() -> None:
        while not stop.is_set():
            payments.append(story.pay(app_id, 1))

    def dashboard() -> None:
        while not stop.is_set():
            state = ledger.get_application(app_id)
            assert state["disbursed"] == len(state["disbursements"])

    def keep(run: Callable[[], None]) -> Callable[[], None]:
        def kept() -> None:
            try:
                run()
            except BaseException as problem:  # noqa: BLE001 - reported to the test
                problems.append(problem)
                stop.set()

        return kept

    threads = [threading.Thread(target=keep(officer))]
    threads += [threading.Thread(target=keep(dashboard)) for _ in range(3)]
    for thread in threads:
        thread.start()
    stop.wait(timeout=1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert problems == []
    assert len(payments) > 0
    assert ledger.get_application(app_id)["disbursed"] == 10 + len(payments)
