"""The demo program: loaded through the service, it keeps every invariant, covers the whole
program and is the same every time for the same seed. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from sqlalchemy import select

import migrations
from demo.records import tax_code_check_digit
from demo.run import DemoError, DemoSummary
from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.checks import check_invariants
from ledger.enterprise import Enterprise
from ledger.service import Ledger
from ledger.support_application import SupportApplication
from tests.support.databases import PostgresDatabases
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.scenario import Scenario

SMALL = 0.03


@dataclass(frozen=True)
class Loaded:
    ledger: Ledger
    summary: DemoSummary


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """One small demo per backend, shared by the tests that only read it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "ledger.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url, drop = f"sqlite:///{path}", None
    else:
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        name, url = databases.create()
        drop = name
    ledger = Ledger(url)
    try:
        yield Loaded(ledger, load_demo(ledger, scale=SMALL))
    finally:
        ledger.engine.dispose()
        if drop is not None:
            databases.drop(drop)


def ids_of(ledger: Ledger, created: type) -> list[UUID]:
    table = ledger.events_table
    query = select(table.c.originator_id).where(
        table.c.topic == f"{created.__module__}:{created.__qualname__}"
    )
    with ledger.engine.connect() as connection:
        return [UUID(str(row[0])) for row in connection.execute(query)]


def fresh_sqlite_ledger(path: Path) -> Ledger:
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    return Ledger(url)


def test_a_small_demo_keeps_every_invariant(loaded: Loaded) -> None:
    assert check_invariants(loaded.ledger) == []


def test_the_demo_covers_every_project_and_every_support_type(loaded: Loaded) -> None:
    small_demo = loaded.summary
    assert set(small_demo.applications_by_project) == set(catalogue.PROJECTS)
    assert set(small_demo.applications_by_support_type) == set(catalogue.SUPPORT_TYPES)


def test_the_demo_has_every_kind_of_ending_and_correction(loaded: Loaded) -> None:
    small_demo = loaded.summary
    actions = small_demo.actions
    for action in (
        "return_application",
        "resubmit_application",
        "reject_application",
        "withdraw_application",
        "cancel_application",
        "order_recovery",
        "receive_recovery",
        "reverse_disbursement",
        "settle_application",
        "approve_activity",
        "record_activity_spending",
        "complete_activity",
    ):
        assert actions.get(action, 0) > 0, action
    statuses = small_demo.applications_by_status
    for status in ("settled", "rejected", "withdrawn", "cancelled"):
        assert statuses.get(status, 0) > 0, status


def test_the_demo_has_users_of_every_role_and_separates_duties(loaded: Loaded) -> None:
    ledger = loaded.ledger
    users = ledger.list_users()
    assert {u["role"] for u in users} == set(catalogue.ROLES)
    approvers = [u for u in users if u["role"] == "officer" and u["department"] == "SKHCN"]
    assert len(approvers) >= 3
    for application_id in ids_of(ledger, SupportApplication.Submitted):
        application: Aggregate = ledger.repository.get(application_id)
        assert isinstance(application, SupportApplication)
        if application.approved_by is not None:
            assert application.approved_by != application.submitted_by
            assert application.approved_by != application.appraised_by


def test_the_summary_agrees_with_what_the_ledger_holds(loaded: Loaded) -> None:
    ledger, small_demo = loaded.ledger, loaded.summary
    application_ids = ids_of(ledger, SupportApplication.Submitted)
    statuses = Counter(ledger.get_application(i)["status"] for i in application_ids)
    assert dict(statuses) == small_demo.applications_by_status
    assert len(application_ids) == small_demo.applications
    assert len(ids_of(ledger, Enterprise.Registered)) == small_demo.enterprises
    assert ledger.count_events() == small_demo.events
    lines = ledger.get_budget_lines()
    assert len(lines) == small_demo.budget_lines
    assert {line["budget_year"] for line in lines} == set(range(2011, 2021))
    city = [line for line in lines if line["source"] == "city_budget"]
    assert sum(line["carried_out"] for line in city) == small_demo.city_budget_carried_over
    assert sum(line["cancelled"] for line in city) == small_demo.city_budget_cancelled
    assert sum(line["assigned"] for line in city) == small_demo.city_budget_assigned
    assert sum(line["committed"] for line in city) == small_demo.city_budget_committed
    assert sum(line["disbursed"] for line in city) == small_demo.city_budget_disbursed
    assert sum(line["recovered"] for line in city) == small_demo.city_budget_recovered


def test_amounts_are_realistic_and_the_city_pays_at_most_about_half(loaded: Loaded) -> None:
    ledger = loaded.ledger
    for application_id in ids_of(ledger, SupportApplication.Submitted):
        state = ledger.get_application(application_id)
        requested = state["requested"]
        assert 10_000_000 <= state["total_cost"] <= 5_000_000_000
        assert requested["city_budget"] <= state["total_cost"] // 2
        assert all(isinstance(v, int) for v in requested.values())
        if state["status"] in ("accepted", "settled"):
            target = catalogue.SUPPORT_TYPES[state["support_type"]].target
            assert set(state["outputs"]) == ({target} if target else set())
            assert all(1 <= n <= 3 for n in state["outputs"].values())


def test_enterprises_have_valid_unique_tax_codes_and_the_districts_of_their_time(
    loaded: Loaded,
) -> None:
    ledger, small_demo = loaded.ledger, loaded.summary
    codes = []
    for enterprise_id in ids_of(ledger, Enterprise.Registered):
        events = list(ledger.events.get(enterprise_id))
        registered = events[0]
        assert isinstance(registered, Enterprise.Registered)
        code = registered.tax_code
        assert tax_code_check_digit(code[:9]) == int(code[9])
        codes.append(code)
        final = ledger.get_enterprise(enterprise_id)
        assert final["district"] in catalogue.CURRENT_DISTRICTS  # Từ Liêm firms were moved
        if registered.district == "QH-TULIEM":
            [corrected] = events[1:]
            assert isinstance(corrected, Enterprise.Corrected)
            assert corrected.effective_date.year == 2014
    assert len(codes) == len(set(codes)) == small_demo.enterprises


def test_real_tax_codes_pass_the_check_digit() -> None:
    assert tax_code_check_digit("010010910") == 6  # Viettel
    assert tax_code_check_digit("030058856") == 9  # Vinamilk


def loaded_twice(
    ledger: Ledger, tmp_path: Path, seed: int, other_seed: int
) -> tuple[DemoSummary, DemoSummary]:
    """A small demo loaded with ``seed`` into ``ledger`` and with ``other_seed`` into a fresh
    SQLite ledger."""
    first = load_demo(ledger, seed=seed, scale=0.02)
    other = fresh_sqlite_ledger(tmp_path / f"seed-{other_seed}.db")
    try:
        return first, load_demo(other, seed=other_seed, scale=0.02)
    finally:
        other.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_same_seed_loads_the_same_program(ledger: Ledger, tmp_path: Path) -> None:
    first, again = loaded_twice(ledger, tmp_path, 11, 11)
    assert again == first


def test_the_same_seed_loads_the_same_program_on_either_database(
    loaded: Loaded, tmp_path: Path
) -> None:
    other = fresh_sqlite_ledger(tmp_path / "reference.db")
    try:
        assert load_demo(other, scale=SMALL) == loaded.summary
    finally:
        other.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_another_seed_loads_another_program(ledger: Ledger, tmp_path: Path) -> None:
    first, second = loaded_twice(ledger, tmp_path, 1, 2)
    assert second.actions != first.actions or second.events != first.events


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_events_grow_in_proportion_to_the_scale(ledger: Ledger, tmp_path: Path) -> None:
    sizes = {}
    for scale in (0.02, 0.04, 0.06):
        target = fresh_sqlite_ledger(tmp_path / f"scale-{scale}.db")
        try:
            sizes[scale] = load_demo(target, scale=scale).events
        finally:
            target.engine.dispose()
    step_one = sizes[0.04] - sizes[0.02]
    step_two = sizes[0.06] - sizes[0.04]
    assert step_one > 0 and step_two > 0
    assert 0.75 <= step_two / step_one <= 1.33  # each extra 0.02 adds about the same
    fixed = sizes[0.02] - step_one  # what does not grow: users and budget lines
    assert fixed < 0.5 * sizes[0.02]


def test_the_demo_refuses_a_ledger_that_already_holds_a_program(
    ledger: Ledger, people: People
) -> None:
    Scenario(ledger, people).budget()
    before = ledger.count_events()
    with pytest.raises(DemoError):
        load_demo(ledger, scale=SMALL)
    assert ledger.count_events() == before


def test_the_demo_loads_beside_users_already_granted(ledger: Ledger) -> None:
    ledger.grant_access(c.GrantAccess(name="Quản trị", role="admin", department="SKHCN"), SYSTEM)
    summary = load_demo(ledger, scale=0.02)
    assert ledger.count_events() == summary.events + 1
    assert check_invariants(ledger) == []


def test_projections_decode_every_stored_event_as_the_library_mapper_does(loaded: Loaded) -> None:
    """The projections' fast reader gives the same domain events as the library's mapper:
    same class, same fields, same types, for every event of the demo."""
    from eventsourcing.persistence import StoredEvent

    from projections.source import read_batches

    ledger = loaded.ledger
    t = ledger.events_table
    query = select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
    with ledger.engine.connect() as connection:
        stored = {
            row.id: ledger.mapper.to_domain_event(
                StoredEvent(
                    UUID(str(row.originator_id)),
                    row.originator_version,
                    row.topic,
                    bytes(row.state),
                )
            )
            for row in connection.execute(query.order_by(t.c.id))
        }
        fast = [e for batch in read_batches(ledger, connection, 0, 997) for e in batch]
    assert [e.position for e in fast] == list(stored)
    topics = set()
    for envelope in fast:
        expected = stored[envelope.position]
        assert type(envelope.event) is type(expected)
        assert envelope.event.__dict__ == expected.__dict__
        assert {k: type(v) for k, v in envelope.event.__dict__.items()} == {
            k: type(v) for k, v in expected.__dict__.items()
        }
        topics.add(type(expected).__qualname__)
    assert len(topics) >= 25  # the demo writes nearly every kind of event
