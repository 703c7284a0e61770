"""Every path through a projection's fold ends at the same model.

For random valid command sequences, catching up in random batch sizes as the log grows, a
full rebuild into the other table set and a replay into a throw-away in-memory store give
identical rows at the same position, for every projection in the registry, on SQLite and on
PostgreSQL. A live follower (LISTEN/NOTIFY on PostgreSQL, polling on SQLite) keeps up with
commands as they are written, and a replay "as known at" a moment shows whole commands only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from ledger.service import Ledger
from projections.projector import Projector
from projections.replay import replay
from projections.source import read_batch
from tests.support.demo import load_demo
from tests.support.people import People, grant_people
from tests.support.projections import FreshDatabases, Program, differences, names, opened, snapshots
from tests.support.scenario import Scenario

#: small batch sizes cut inside commands (a command writes one to three events); larger ones
#: fold several commands at once, the largest all that is new
BATCH_SIZES = st.one_of(st.integers(1, 9), st.integers(10, 60), st.just(2000))


@pytest.fixture
def fresh_databases(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[FreshDatabases]:
    """Makes a new empty database per example on the backend under test."""
    databases = FreshDatabases(backend, request, tmp_path)
    yield databases
    databases.close()


@settings(
    max_examples=10,
    deadline=None,
    # the fixture is a factory, per test: every example makes its own database with it (and
    # its own ledger and projectors), so nothing is shared between examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_catch_up_in_any_batch_sizes_equals_a_rebuild_and_a_replay(
    fresh_databases: FreshDatabases, data: st.DataObject
) -> None:
    with fresh_databases.new() as url, opened(url) as ledger:
        # Step 1: a program on a fresh ledger (its users and first budget lines), and a
        # projector that has folded nothing yet.
        program = Program(ledger, grant_people(ledger))
        program.open_year(data.draw)
        projector = Projector(ledger)

        # Step 2: the program grows by rounds of random valid steps; after each round the
        # projector catches up, each time with its own random batch size.
        for _ in range(data.draw(st.integers(1, 4), label="rounds")):
            for _ in range(data.draw(st.integers(3, 8), label="steps in this round")):
                label = program.step(data.draw)
                note(label)
                event(Program.kind(label))
            projector.catch_up(batch_size=data.draw(BATCH_SIZES, label="batch size"))
            assert {s.position for s in projector.status()} == {ledger.position()}
        head = ledger.position()
        caught_up = snapshots(projector)
        assert {name: s[0] for name, s in caught_up.items()} == dict.fromkeys(names(), head)

        # Step 3: a fresh projector rebuilds every projection into the other table set.
        rebuilder = Projector(ledger)
        rebuilder.rebuild(batch_size=data.draw(BATCH_SIZES, label="rebuild batch size"))
        assert {s.active_set for s in rebuilder.status()} == {"b"}
        rebuilt = snapshots(rebuilder)
        assert differences(caught_up, rebuilt) == [], "catch-up and rebuild disagree"

        # Step 4: a replay into a throw-away in-memory store folds the same rows.
        replayed = snapshots(replay(ledger))
        assert differences(caught_up, replayed) == [], "catch-up and replay disagree"
        assert caught_up == rebuilt == replayed


def test_the_demo_folded_seven_events_at_a_time_equals_a_rebuild_and_a_replay(
    ledger: Ledger,
) -> None:
    # Step 1: the demo program, folded by every projection seven events at a time.
    load_demo(ledger, scale=0.03)
    projector = Projector(ledger)
    assert projector.catch_up(batch_size=7) == ledger.position()
    caught_up = {name: projector.snapshot(name) for name in projector.classes}
    for name, (position, tables) in caught_up.items():
        assert position == ledger.position(), name
        assert all(tables.values()), f"{name}: every table has rows"

    # Step 2: a rebuild into the other table sets answers the same, from the same position.
    projector.rebuild()
    assert {name: projector.snapshot(name) for name in projector.classes} == caught_up

    # Step 3: so does a replay into a throw-away store.
    past = replay(ledger)
    assert {name: past.snapshot(name) for name in projector.classes} == caught_up


def test_a_live_follower_brings_every_projection_to_the_head_as_commands_are_written(
    ledger: Ledger, people: People
) -> None:
    # Step 1: a follower in its own thread: woken by LISTEN/NOTIFY on PostgreSQL, polling on
    # SQLite. Waiting readers then wait for it instead of catching up themselves.
    projector = Projector(ledger)
    stop = threading.Event()
    follower = threading.Thread(
        target=projector.follow, args=(stop,), kwargs={"poll_interval": 0.05}, daemon=True
    )
    follower.start()
    assert projector.following.wait(timeout=5)
    try:
        # Step 2: commands are written; every projection reaches the head.
        scenario = Scenario(ledger, people)
        scenario.budget(300_000_000)
        scenario.settled()
        head = ledger.position()
        assert {n: projector.wait_for(n, head, timeout=10) for n in names()} == dict.fromkeys(
            names(), head
        )

        # Step 3: more commands while the follower is listening; it reaches the new head too.
        paid = scenario.contracted()
        scenario.pay(paid, 10_000_000, "advance")
        head = ledger.position()
        assert {n: projector.wait_for(n, head, timeout=10) for n in names()} == dict.fromkeys(
            names(), head
        )
        assert snapshots(projector) == snapshots(replay(ledger))
    finally:
        # Step 4: the follower stops when asked.
        stop.set()
        follower.join(timeout=10)
    assert not follower.is_alive()
    assert not projector.following.is_set()


def test_a_replay_as_known_at_a_moment_shows_whole_commands_only(
    ledger: Ledger, people: People
) -> None:
    # Step 1: an approval: one command, two events (the application's and its budget line's).
    scenario = Scenario(ledger, people)
    scenario.budget(500_000_000)
    application = scenario.appraised()
    before = ledger.position()
    scenario.approve(application, 60_000_000, 40_000_000)
    with ledger.engine.connect() as connection:
        approved, committed = read_batch(ledger, connection, before, 10)
    assert ledger.position() == committed.position

    # Step 2: a replay as known at a moment between the two events' times shows the approval
    # whole or not at all, as the ledger, which never held half of it, would have answered.
    whole = snapshots(replay(ledger, upto_position=committed.position))
    not_yet = snapshots(replay(ledger, upto_position=before))
    start, end = approved.event.timestamp, committed.event.timestamp
    known = snapshots(replay(ledger, known_at=start + (end - start) / 2))
    assert known in (whole, not_yet)
