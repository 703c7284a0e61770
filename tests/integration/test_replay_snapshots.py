"""Replay snapshots: a replay that starts from the nearest snapshot answers exactly what a
fold from the first event answers, at any position, on SQLite and on PostgreSQL; snapshots
that no longer describe the log (another log at the same address, a damaged file, another
fold's code) are made again rather than used.

Every test here (and, through the root ``conftest.py``, every other replay test) runs with a
snapshot every :data:`EVERY` events.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from api.app import create_app
from ledger import commands as c
from ledger import settings
from ledger.service import Ledger
from projections import snapshots
from projections.check import check
from projections.projector import Projector
from projections.registry import BY_NAME
from projections.replay import prepare_snapshots, replay
from projections.snapshots import Snapshots, snapshots_for, snapshotted
from tests.support.people import People, grant_people
from tests.support.scenario import Scenario

EVERY = 5
NAMES = [cls.NAME for cls in snapshotted()]


def contents(ledger: Ledger, position: int, *, from_snapshots: bool) -> dict[str, Any]:
    """Every snapshotted projection replayed up to ``position``: each one's rows."""
    past = replay(ledger, upto_position=position, names=NAMES, snapshots=from_snapshots)
    try:
        return {name: past.snapshot(name) for name in NAMES}
    finally:
        past.engine.dispose()


def kept_for(ledger: Ledger) -> Snapshots:
    kept = snapshots_for(ledger, snapshotted())
    assert kept is not None
    return kept


def in_kept_file(ledger: Ledger, sql: str) -> list[Any]:
    """``sql`` run on the ledger's current snapshot file (none: no rows)."""
    path = kept_for(ledger).path
    if not path.exists():
        return []
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            result = connection.exec_driver_sql(sql)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def kept_positions(ledger: Ledger) -> list[int]:
    rows = in_kept_file(ledger, "SELECT position FROM replay_snapshots ORDER BY position")
    return [int(p) for (p,) in rows]


def some_history(ledger: Ledger, people: People) -> None:
    """Budget, applications through their lifecycle, payments and an enterprise renamed
    after its application was folded (a change a rebuild applies through its index)."""
    scenario = Scenario(ledger, people)
    scenario.budget()
    contracted = scenario.contracted()
    scenario.pay(contracted, 20_000_000, "advance")
    scenario.accepted()
    scenario.settled()
    rename_the_enterprise_of(ledger, people, contracted)
    scenario.approved(city=30_000_000)


def rename_the_enterprise_of(ledger: Ledger, people: People, app: UUID) -> None:
    enterprise_id = UUID(ledger.get_application(app)["enterprise_id"])
    ledger.correct_enterprise(
        c.CorrectEnterprise(
            enterprise_id=enterprise_id,
            corrected_on=dt.date(2015, 9, 1),
            reason="Đổi tên theo giấy chứng nhận mới",
            name="Công ty CP Tên Mới",
        ),
        people.officer,
    )


@pytest.fixture(autouse=True)
def every_five_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.REPLAY_SNAPSHOT_EVERY.name, str(EVERY))


def test_a_replay_from_a_snapshot_equals_the_fold_from_the_first_event_at_every_position(
    ledger: Ledger, people: People
) -> None:
    # Step 1: some history, and its snapshots made ahead of time.
    some_history(ledger, people)
    head = ledger.position()
    assert prepare_snapshots(ledger) == head // EVERY * EVERY
    assert kept_positions(ledger) == list(range(EVERY, head + 1, EVERY))

    # Step 2: at every position (on a snapshot, just after one, just before the next), the
    # replay from the nearest snapshot holds exactly the rows of the fold from the start.
    for position in range(1, head + 1):
        fast = contents(ledger, position, from_snapshots=True)
        assert fast == contents(ledger, position, from_snapshots=False), position
        assert all(at == position for at, _ in fast.values())


def test_the_renamed_enterprise_reaches_its_applications_in_a_replay_from_a_snapshot(
    ledger: Ledger, people: People
) -> None:
    # Step 1: an application, a snapshot after it, then its enterprise renamed.
    scenario = Scenario(ledger, people)
    scenario.budget()
    app = scenario.approved()
    while ledger.position() % EVERY:
        scenario.budget(year=2016)
    prepare_snapshots(ledger)
    rename_the_enterprise_of(ledger, people, app)

    # Step 2: the replay of the registers from that snapshot renames the application too.
    past = replay(ledger, names=["registers"])
    try:
        with past.reading("registers") as (connection, tables, _):
            table = tables["register_applications"]
            [name] = connection.execute(
                sa.select(table.c.enterprise_name).where(table.c.id == app)
            ).scalars()
    finally:
        past.engine.dispose()
    assert name == "Công ty CP Tên Mới"


def test_snapshots_are_made_by_the_first_replay_and_extended_as_the_log_grows(
    ledger: Ledger, people: People
) -> None:
    # Step 1: no snapshot yet; a replay makes those it can start from.
    some_history(ledger, people)
    first = ledger.position()
    assert contents(ledger, first, from_snapshots=True) == contents(
        ledger, first, from_snapshots=False
    )
    assert kept_positions(ledger) == list(range(EVERY, first + 1, EVERY))

    # Step 2: more history; a replay at the new head adds the snapshots after the old ones.
    Scenario(ledger, people).settled(city=10_000_000, paid=10_000_000)
    head = ledger.position()
    assert contents(ledger, head, from_snapshots=True) == contents(
        ledger, head, from_snapshots=False
    )
    assert kept_positions(ledger) == list(range(EVERY, head + 1, EVERY))


def test_snapshots_of_another_log_at_the_same_address_are_made_again(
    ledger: Ledger, people: People, another_database: Any
) -> None:
    # Step 1: snapshots of another log, put where this ledger's would be (as when a database
    # is replaced by another at the same address).
    other = Ledger(another_database())
    try:
        some_history(other, grant_people(other))
        prepare_snapshots(other)
        theirs = kept_for(other)
    finally:
        other.close()
    some_history(ledger, people)
    ours = kept_for(ledger)
    ours.path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(theirs.path, ours.path)

    # Step 2: the replay does not start from them: its answer is this log's.
    head = ledger.position()
    assert contents(ledger, head, from_snapshots=True) == contents(
        ledger, head, from_snapshots=False
    )
    assert kept_positions(ledger) == list(range(EVERY, head + 1, EVERY))


def test_a_damaged_snapshot_file_is_made_again(ledger: Ledger, people: People) -> None:
    # Step 1: snapshots made, then the file overwritten with something else.
    some_history(ledger, people)
    prepare_snapshots(ledger)
    kept = kept_for(ledger)
    Path(f"{kept.path}-wal").unlink(missing_ok=True)
    kept.path.write_bytes(b"not a database" * 100)

    # Step 2: the replay answers as the fold from the start does, and the file is whole again.
    head = ledger.position()
    assert contents(ledger, head, from_snapshots=True) == contents(
        ledger, head, from_snapshots=False
    )
    assert kept_positions(ledger) == list(range(EVERY, head + 1, EVERY))


def test_snapshots_made_by_another_fold_are_not_used(
    ledger: Ledger, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Step 1: snapshots made, then one of their rows changed (what older code might have made).
    some_history(ledger, people)
    prepare_snapshots(ledger)
    in_kept_file(ledger, "UPDATE project_spend_v SET disbursed = disbursed + 1")

    # Step 2: under a fold whose code has another fingerprint the file is made again.
    monkeypatch.setattr(snapshots, "fingerprint", lambda: "another fold")
    head = ledger.position()
    assert contents(ledger, head, from_snapshots=True) == contents(
        ledger, head, from_snapshots=False
    )


def test_replays_in_several_threads_make_the_snapshots_once_and_agree(
    ledger: Ledger, people: People
) -> None:
    some_history(ledger, people)
    head = ledger.position()
    expected = contents(ledger, head, from_snapshots=False)
    answers: list[dict[str, Any]] = []
    failures: list[BaseException] = []

    def one() -> None:
        try:
            answers.append(contents(ledger, head, from_snapshots=True))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert answers == [expected] * 3
    assert kept_positions(ledger) == list(range(EVERY, head + 1, EVERY))


def test_the_merkle_tree_is_read_from_the_live_tree_not_replayed_from_snapshots(
    ledger: Ledger,
) -> None:
    assert snapshots_for(ledger, snapshotted()) is not None
    assert snapshots_for(ledger, [BY_NAME["merkle"]]) is None


@pytest.mark.parametrize("value", ["abc", "-5", "2.5"])
def test_a_bad_snapshot_interval_is_named(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(settings.REPLAY_SNAPSHOT_EVERY.name, value)
    with pytest.raises(ValueError, match="LEDGER_REPLAY_SNAPSHOT_EVERY must be a whole number"):
        snapshots.every_setting()


def test_snapshots_can_be_turned_off(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.REPLAY_SNAPSHOT_EVERY.name, "0")
    assert snapshots_for(ledger, snapshotted()) is None
    assert prepare_snapshots(ledger) == 0


def test_a_replay_store_keeps_reading_its_snapshots_while_they_are_made_anew(
    ledger: Ledger, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Step 1: a replay store started from the snapshots, still open.
    some_history(ledger, people)
    head = ledger.position()
    expected = contents(ledger, head, from_snapshots=False)["audit_trail"]
    past = replay(ledger, upto_position=head, names=["audit_trail"])
    kept = kept_for(ledger)
    first = kept.path

    # Step 2: the snapshots are made anew (another fold's code): a new file; the old one
    # stays while the store reads it, and the store's answer does not change.
    monkeypatch.setattr(snapshots, "fingerprint", lambda: "another fold")
    prepare_snapshots(ledger)
    assert kept.path != first and first.exists()
    assert past.snapshot("audit_trail") == expected

    # Step 3: once the store is gone, the next generation removes the old file.
    past.engine.dispose()
    monkeypatch.setattr(snapshots, "fingerprint", lambda: "a third fold")
    prepare_snapshots(ledger)
    assert not first.exists()


def test_a_server_following_the_log_makes_the_snapshots_as_it_grows(
    ledger: Ledger, people: People
) -> None:
    # Step 1: history written before the server starts, and more while it runs.
    some_history(ledger, people)
    with TestClient(create_app(ledger, follow=True)):
        Scenario(ledger, people).settled(city=10_000_000, paid=10_000_000)
        expected = list(range(EVERY, ledger.position() + 1, EVERY))

        # Step 2: without any replay asked for, the snapshots reach the head's last multiple.
        deadline = time.monotonic() + 30
        while kept_positions(ledger) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
    assert kept_positions(ledger) == expected


def test_the_reconciliation_check_folds_from_the_first_event_not_from_snapshots(
    ledger: Ledger, people: People
) -> None:
    # Step 1: snapshots whose rows were changed behind the ledger's back (same fingerprint,
    # same roots: a replay would start from them).
    some_history(ledger, people)
    Projector(ledger).catch_up()
    prepare_snapshots(ledger)
    in_kept_file(ledger, "UPDATE project_spend_v SET disbursed = disbursed + 1")

    # Step 2: the check compares the live read models with a fold of its own: they agree.
    assert check(ledger) == []
