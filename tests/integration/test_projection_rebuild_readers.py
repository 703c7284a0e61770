"""A reader during a rebuild sees the old complete model, then the new complete one.

A rebuild folds the log into the other table set and switches the readers over in the
transaction that folds the last events. No event arrives meanwhile, so every read a reader
takes, before, during or after the switch, must equal the model as it stood before the
rebuild: never a partial model, never an empty one.

Two more pin what once went wrong: on SQLite ``Projector.reading()`` must be one snapshot,
and a second rebuild must not run during a rebuild.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ledger.service import Ledger
from projections import project_spend
from projections.projector import Projector
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.projections import Snapshot, differences, names, snapshots
from tests.support.scenario import Scenario


def settled_and_caught_up(
    ledger: Ledger, people: People, budget: int, count: int
) -> tuple[Projector, dict[str, list[dict[str, Any]]]]:
    """``count`` settled applications on a line of ``budget``, folded by catch-up into table
    set a; the projector, and project_spend's complete model (its rows by table)."""
    scenario = Scenario(ledger, people)
    scenario.budget(budget)
    for _ in range(count):
        scenario.settled()
    projector = Projector(ledger)
    projector.catch_up()
    _, complete = projector.snapshot("project_spend")
    return projector, complete


def spend_report(projector: Projector) -> tuple[int, list[dict[str, Any]]]:
    with projector.reading("project_spend") as (connection, tables, position):
        return position, project_spend.report(connection, tables)


@dataclass
class Reads:
    """What the reader saw, one entry per read (kept small: what differed, not the rows)."""

    spend: list[bool] = field(default_factory=list)  # each project_spend read was complete
    snapshots: dict[str, list[list[str]]] = field(default_factory=dict)  # differences per read
    while_rebuilding: int = 0  # reads taken while status() said a rebuild was running
    errors: list[BaseException] = field(default_factory=list)

    def wait_for_more(self, timeout: float = 5.0) -> None:
        """Wait until the reader has finished one more read."""
        deadline, taken = time.monotonic() + timeout, len(self.spend)
        while len(self.spend) == taken and not self.errors and time.monotonic() < deadline:
            time.sleep(0.002)


def keep_reading(
    reader: Projector,
    complete_spend: tuple[int, list[dict[str, Any]]],
    complete: dict[str, Snapshot],
    stop: threading.Event,
    reads: Reads,
) -> None:
    """Until ``stop``: poll status(), read the project_spend report and one projection's
    snapshot (each projection in turn), and note how each read compares with the complete
    model."""
    try:
        for name in itertools.cycle(names()):
            if stop.is_set():
                return
            if any(s.rebuilding for s in reader.status()):
                reads.while_rebuilding += 1
            reads.spend.append(spend_report(reader) == complete_spend)
            seen = {name: reader.snapshot(name)}
            reads.snapshots.setdefault(name, []).append(differences({name: complete[name]}, seen))
    except BaseException as error:  # noqa: BLE001 - handed to the test thread
        reads.errors.append(error)


def test_a_reader_during_a_rebuild_never_sees_a_partial_or_empty_model(ledger: Ledger) -> None:
    # Step 1: the demo program, folded by catch-up; this is the complete model.
    load_demo(ledger, scale=0.02)
    projector = Projector(ledger)
    projector.catch_up()
    head = ledger.position()
    complete = snapshots(projector)
    complete_spend = spend_report(projector)
    assert complete_spend[0] == head and complete_spend[1], "the demo spends money"
    before = {s.name: s.active_set for s in projector.status()}

    # Step 2: a reader keeps reading, with its own projector as a report endpoint would.
    reader = Projector(ledger)
    stop, reads = threading.Event(), Reads()
    reading = threading.Thread(
        target=keep_reading, args=(reader, complete_spend, complete, stop, reads), daemon=True
    )
    reading.start()

    # Step 3: meanwhile another thread rebuilds every projection in small batches; after
    # each committed batch it lets the reader finish one more read, so reads interleave with
    # the batches (and also run during them and during the switch).
    def one_more_read(name: str, position: int, head: int) -> None:
        reads.wait_for_more()

    failures: list[BaseException] = []

    def rebuild() -> None:
        try:
            reads.wait_for_more()  # a read before the rebuild starts
            Projector(ledger).rebuild(batch_size=50, progress=one_more_read)
            reads.wait_for_more()  # and one after the switch
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            failures.append(error)

    rebuilding = threading.Thread(target=rebuild, daemon=True)
    rebuilding.start()
    rebuilding.join(timeout=60)
    stop.set()
    reading.join(timeout=10)
    assert not rebuilding.is_alive() and not reading.is_alive()
    assert failures == [] and reads.errors == []

    # Step 4: the reader read many times, also while status() said a rebuild was running,
    # and every read equalled the complete model.
    assert reads.while_rebuilding >= 3, "the reader should have read during the rebuild"
    assert len(reads.spend) >= 10
    assert reads.spend.count(False) == 0, f"{reads.spend.count(False)} partial reads"
    assert set(reads.snapshots) == set(names())
    for name, found in reads.snapshots.items():
        assert all(d == [] for d in found), (name, next(d for d in found if d))

    # Step 5: the rebuild is over: every projection reads from the other table set, at the
    # head, with no rebuild running and the same rows as before.
    after = {s.name: s for s in projector.status()}
    assert {n: s.active_set for n, s in after.items()} == {
        n: "b" if set_name == "a" else "a" for n, set_name in before.items()
    }
    assert all(not s.rebuilding and s.position == head for s in after.values())
    assert snapshots(projector) == complete


def test_a_read_keeps_its_snapshot_while_the_next_rebuild_clears_the_set_it_reads(
    ledger: Ledger, people: People
) -> None:
    # Step 1: three settled applications, folded by catch-up into table set a.
    projector, complete = settled_and_caught_up(ledger, people, 500_000_000, 3)

    # Step 2: a reader opens a read of set a; meanwhile one rebuild switches readers to set
    # b, and the next one clears set a and stops after refilling its first small batch.
    refilling, resume = threading.Event(), threading.Event()

    def pause(name: str, position: int, head: int) -> None:
        refilling.set()
        resume.wait(timeout=10)

    def two_rebuilds() -> None:
        Projector(ledger).rebuild("project_spend")
        Projector(ledger).rebuild("project_spend", batch_size=5, progress=pause)

    rebuilds = threading.Thread(target=two_rebuilds, daemon=True)
    with projector.reading("project_spend") as (connection, tables, _):
        assert tables["project_spend"].name == "project_spend_a"
        rebuilds.start()
        refilling.wait(timeout=5)  # (a reader holding a lock may delay the rebuilds instead)

        # Step 3: the read still sees the complete model it started with.
        seen = {
            name: [
                dict(r)
                for r in connection.execute(select(table).order_by(*table.primary_key)).mappings()
            ]
            for name, table in tables.items()
        }
        resume.set()
    rebuilds.join(timeout=30)
    assert not rebuilds.is_alive()
    assert seen == complete


def test_a_second_rebuild_during_a_rebuild_never_leaves_readers_a_partial_model(
    ledger: Ledger, people: People
) -> None:
    # Step 1: four settled applications, folded by catch-up; this is the complete model.
    projector, complete = settled_and_caught_up(ledger, people, 900_000_000, 4)

    # Step 2: a first rebuild has folded most of the log into set b when a second one
    # starts (as a second admin's request would), clears set b, folds one batch and waits.
    second_started, second_go = threading.Event(), threading.Event()
    outcome: list[str] = []

    def second_waits(name: str, position: int, head: int) -> None:
        second_started.set()
        second_go.wait(timeout=5)

    def second() -> None:
        try:
            Projector(ledger).rebuild("project_spend", batch_size=5, progress=second_waits)
            outcome.append("finished")
        except Exception as error:  # a refusal is a fine answer too
            outcome.append(f"refused: {error}")

    seconds: list[threading.Thread] = []

    def start_the_second_late(name: str, position: int, head: int) -> None:
        if not seconds and position >= head * 2 // 3:
            seconds.append(threading.Thread(target=second, daemon=True))
            seconds[0].start()
            second_started.wait(timeout=5)

    # Step 3: the first rebuild finishes and switches; readers must see the complete model,
    # and still after the second rebuild has finished or been refused.
    Projector(ledger).rebuild("project_spend", batch_size=5, progress=start_the_second_late)
    _, after_first = projector.snapshot("project_spend")
    second_go.set()
    seconds[0].join(timeout=30)
    assert outcome, "the second rebuild should have finished or been refused"
    _, at_the_end = projector.snapshot("project_spend")
    assert after_first == complete
    assert at_the_end == complete
