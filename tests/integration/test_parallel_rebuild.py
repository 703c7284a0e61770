"""A rebuild folded by worker processes (``ledger projections rebuild --workers N``) ends at
the same read models as a rebuild in one process, table for table, on SQLite and on
PostgreSQL, whatever way the plan cuts the log; and it keeps every guarantee of the one-process
rebuild: a worker killed with SIGKILL half-way fails the rebuild cleanly (readers still read the
old read models, the error is recorded, the claim is given back and the next rebuild runs), a
second rebuild is refused while one runs, and the workers die with the process that claimed.

The log: a user renamed and moved early on (the audit trail names each actor as they were, from
its users register: a range of the log folded by a worker must know them), then many
applications through their lifecycle. The plan's smallest range is lowered so that a small log
is cut into several tasks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.read_side import ReadSide
from ledger.service import Ledger
from projections import parallel
from projections.audit_trail import AuditTrail
from projections.claims import RebuildInProgress, is_claimed
from projections.merkle import GapInLog
from projections.parallel import Task, WorkerFailed
from projections.projector import Projector
from projections.registry import PROJECTIONS
from projections.source import read_batches, read_of_types
from tests.support.cli import run
from tests.support.people import People
from tests.support.projections import differences, snapshots
from tests.support.renames import Renamed
from tests.support.scenario import Scenario
from tests.support.tampering import Superuser, burn_a_position

ROOT = Path(__file__).resolve().parents[2]
NAMES = [cls.NAME for cls in PROJECTIONS]


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "SMALLEST_RANGE", 20)


@pytest.fixture
def renamed(ledger: Ledger, people: People) -> Renamed:
    """The renamed officer's story, then applications after it (the officer under the new
    name), every projection caught up."""
    story = Renamed(ledger, people).build()
    scenario = Scenario(ledger, people)
    scenario.budget(amount=50_000_000_000)
    for _ in range(6):
        scenario.settled(city=60_000_000, paid=60_000_000)
        scenario.submitted()
    Projector(ledger).catch_up()
    return story


def keyed_rows(ledger: Ledger, context_only: bool) -> dict[str, Any]:
    """The audit trail's keyed rows (labels, users register) folded from every event, or
    from its context events alone."""
    projector = Projector(ledger, projections=[AuditTrail])
    fold = AuditTrail(projector.tables(AuditTrail, "b"), rebuilding=True)
    with ledger.engine.connect() as connection:
        if context_only:
            assert AuditTrail.CONTEXT is not None
            batches = read_of_types(ledger, connection, AuditTrail.CONTEXT, ledger.position(), 50)
        else:
            batches = read_batches(ledger, connection, 0, 50)
        for batch in batches:
            fold.fold(batch)
            fold.drain(keyed=False)
    return {name: fold.rows(name).rows for name in ("audit_trail_labels", "audit_trail_people")}


def test_the_audit_trails_context_events_alone_make_its_keyed_rows(
    demo_side: ReadSide, ledger: Ledger, renamed: Renamed
) -> None:
    """What lets a worker fold a range of the audit trail: its labels and users register,
    folded from the context events alone, are those every event makes (the demo's log has
    every kind of record; the renamed officer's story, users changed)."""
    for log in (demo_side.ledger, ledger):
        every = keyed_rows(log, context_only=False)
        assert all(every.values())
        assert keyed_rows(log, context_only=True) == every


def one_process(ledger: Ledger) -> dict[str, Any]:
    """Every projection rebuilt in this process: their rows."""
    projector = Projector(ledger)
    projector.rebuild(batch_size=7)
    return snapshots(projector)


def test_the_plan_cuts_the_log_and_the_projections_among_the_workers() -> None:
    head = 100_000
    for workers in (2, 3, 5):
        tasks = parallel.plan(list(PROJECTIONS), workers, head)
        assert 1 < len(tasks) <= workers
        folded = sorted(n for t in tasks for n in t.whole)
        assert folded == sorted(n for n in NAMES if n != "audit_trail"), tasks
        ranges = sorted((t.start, t.stop) for t in tasks if t.split)
        assert ranges[0][0] == 0 and ranges[-1][1] == head
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False)), ranges
        assert [t.keyed for t in tasks if t.split] == [t.stop == head for t in tasks if t.split]
    assert parallel.plan(list(PROJECTIONS), 1, head) == [Task(tuple(NAMES), (), 0, 0, head, True)]


@pytest.mark.parametrize("workers", [2, 4])
def test_a_parallel_rebuild_equals_a_one_process_rebuild_table_for_table(
    ledger: Ledger, renamed: Renamed, workers: int
) -> None:
    # Step 1: the reference, rebuilt in one process.
    expected = one_process(ledger)

    # Step 2: the same rebuilt by workers, as the plan cuts it.
    projector = Projector(ledger)
    tasks = parallel.plan(list(PROJECTIONS), workers, ledger.position())
    assert len(tasks) > 1, tasks
    if workers > 2:  # a range of the audit trail after the rename: folded after its context
        assert any(t.split and t.start > renamed.moved_at for t in tasks), tasks
    assert projector.rebuild(batch_size=9, workers=workers) == ledger.position()
    assert {s.position for s in projector.status()} == {ledger.position()}
    assert not any(s.rebuilding or s.last_error for s in projector.status())
    assert differences(expected, snapshots(projector)) == []


def test_the_command_line_rebuilds_with_workers(
    ledger: Ledger, renamed: Renamed, database_url: str
) -> None:
    expected = one_process(ledger)
    done = run(database_url, "projections", "rebuild", "--workers", "2")
    assert done.exit_code == 0, done.output
    assert f"Rebuilt every projection from {ledger.position():,} events." in done.stdout
    projector = Projector(ledger)
    assert {s.active_set for s in projector.status()} == {"a"}  # b, then a again
    assert differences(expected, snapshots(projector)) == []
    refused = run(database_url, "projections", "rebuild", "--workers", "0")
    assert refused.exit_code == 2 and "--workers" in refused.output


def test_every_cut_of_the_audit_trail_equals_a_one_process_rebuild(
    ledger: Ledger, renamed: Renamed, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = one_process(ledger)
    head = ledger.position()
    others = tuple(n for n in NAMES if n != "audit_trail")
    # cuts right before and after the rename and the move, and one past them
    for cut in (renamed.renamed_at - 1, renamed.renamed_at, renamed.moved_at, head - 5):
        tasks = [
            Task(others, ("audit_trail",), 0, cut, head, False),
            Task((), ("audit_trail",), cut, head, head, True),
        ]
        monkeypatch.setattr(parallel, "plan", lambda *_, tasks=tasks: tasks)
        projector = Projector(ledger)
        assert projector.rebuild(batch_size=5, workers=2) == head
        assert differences(expected, snapshots(projector)) == [], f"cut at {cut}"


def test_events_written_during_a_parallel_rebuild_are_folded_when_it_switches(
    ledger: Ledger, renamed: Renamed, people: People
) -> None:
    projector = Projector(ledger)
    scenario = Scenario(ledger, people)
    written: list[object] = []

    def meanwhile(_: str, position: int, head: int) -> None:
        if position < head and not written:
            written.append(scenario.contracted())

    projector.rebuild(batch_size=5, workers=2, progress=meanwhile)
    assert written, "the rebuild reported its progress"
    assert {s.position for s in projector.status()} == {ledger.position()}
    assert differences(one_process(ledger), snapshots(projector)) == []


def test_a_worker_killed_half_way_fails_the_rebuild_cleanly(
    ledger: Ledger, renamed: Renamed
) -> None:
    projector = Projector(ledger)
    before = snapshots(projector)
    killed: list[int] = []

    def kill_one(_: str, position: int, head: int) -> None:
        workers = [p for p in parallel_children() if p not in killed]
        if 0 < position < head and workers and not killed:
            os.kill(workers[0], signal.SIGKILL)
            killed.append(workers[0])

    # Step 1: a worker is killed half-way; the rebuild fails, naming it.
    with pytest.raises(WorkerFailed, match="killed by SIGKILL"):
        projector.rebuild(batch_size=1, workers=2, progress=kill_one)
    assert killed
    assert parallel_children() == [], "the other workers are stopped"

    # Step 2: readers still read the old read models; the error is recorded; nothing is
    # marked as being rebuilt, and the claim is given back.
    assert snapshots(projector) == before
    for status in projector.status():
        assert status.active_set == "a" and not status.rebuilding, status
        assert status.last_error is not None and "killed by SIGKILL" in status.last_error
    assert not any(is_claimed(ledger.engine, name) for name in NAMES)

    # Step 3: the next rebuild runs at once and ends where a one-process rebuild does.
    assert projector.rebuild(workers=2) == ledger.position()
    assert not any(s.last_error for s in projector.status())
    assert differences(one_process(ledger), snapshots(projector)) == []


def test_a_workers_own_error_fails_the_rebuild_as_in_one_process(
    ledger: Ledger, renamed: Renamed, people: People, database_url: str
) -> None:
    """A hole in the log that is not recorded stops the Merkle tree's fold, in a worker as in
    one process: the same error (the ledger's, with its code), recorded, nothing switched."""
    projector = Projector(ledger)
    superuser = Superuser(database_url)
    try:
        hole = burn_a_position(superuser, ledger)
    finally:
        superuser.close()
    Scenario(ledger, people).submitted()
    for workers in (1, 2):
        with pytest.raises(GapInLog, match=f"skips position {hole}") as raised:
            projector.rebuild(workers=workers)
        assert raised.value.code == "log_has_hole" and raised.value.position == hole
        [merkle] = [s for s in projector.status() if s.name == "merkle"]
        assert merkle.active_set == "a" and not merkle.rebuilding
        assert merkle.last_error is not None and f"skips position {hole}" in merkle.last_error


#: a parallel rebuild in batches of 1 that stops for good in its coordinator once a worker
#: has reported progress; it prints its workers' pids
HALF_WAY = """
import multiprocessing, sys, threading
from api.read_side import ReadSide
from ledger.service import Ledger
from projections import parallel
from projections.projector import Projector

parallel.SMALLEST_RANGE = 20

def stop_here(name, position, head):
    if 0 < position < head:
        pids = [p.pid for p in multiprocessing.active_children()]
        print("half-way", *pids, flush=True)
        threading.Event().wait()

Projector(Ledger(sys.argv[1])).rebuild(batch_size=1, workers=2, progress=stop_here)
"""


@pytest.fixture
def half_built(renamed: Renamed, database_url: str) -> Iterator[tuple[int, list[int]]]:
    """A parallel rebuild, half-way, in a process of its own: its pid and its workers'."""
    process = subprocess.Popen(
        [sys.executable, "-c", HALF_WAY, database_url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("half-way"), process.stderr.read() if process.stderr else line
        yield process.pid, [int(pid) for pid in line.split()[1:]]
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_a_second_rebuild_is_refused_and_the_workers_die_with_their_rebuild(
    half_built: tuple[int, list[int]], ledger: Ledger
) -> None:
    pid, workers = half_built
    projector = Projector(ledger)
    before = snapshots(projector)

    # Step 1: while the rebuild lives, another is refused at once, in one process or more.
    for count in (1, 2):
        with pytest.raises(RebuildInProgress, match="is being rebuilt"):
            projector.rebuild(workers=count)
    assert any(s.rebuilding for s in projector.status())

    # Step 2: the rebuild's process is killed; its workers die with it, and its claim goes.
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        any(alive(w) for w in workers) or any(s.rebuilding for s in projector.status())
    ):
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "a worker outlived its rebuild"
    assert not any(s.rebuilding for s in projector.status())
    assert snapshots(projector) == before

    # Step 3: the next rebuild runs at once.
    assert projector.rebuild(workers=2) == ledger.position()
    assert differences(before, snapshots(projector)) == []


def parallel_children() -> list[int]:
    """The pids of this process's rebuild workers still running."""
    import multiprocessing

    return [p.pid for p in multiprocessing.active_children() if p.pid is not None]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")
