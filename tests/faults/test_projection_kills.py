"""``kill -9`` of the processes that fold the log: a follower and a rebuild, mid-way.

Each runs over the demo program's log (≈ 12,500 events), big enough that it is killed in the
middle of its work: the follower in the middle of catching up (a batch of rows written, its
tracking row not yet), the rebuild after it has written a full batch into the other table set
and claimed the projections for itself. Afterwards a server's live follower takes over
under a load of new commands, and everything must hold as after any fault: no event folded
twice or skipped (``ledger projections check`` against a fresh fold), the log verifies,
positions have no hole, every acknowledged command is stored once. And a rebuild killed
mid-way must not block the next one: it starts, and succeeds, at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.faults.harness import (
    LedgerServer,
    Load,
    Process,
    Processes,
    TaxCodes,
    assert_recovered,
    enterprise,
    get_json,
    last_lines,
    projection_rows,
)
from tests.support.faults import Database, DemoLog, add_people, load_demo_log

#: rows a catch-up batch folds (Projector.catch_up) and a rebuild reads (Projector.rebuild)
CATCH_UP_BATCH = 2_000
REBUILD_BATCH = 10_000
#: the server's follower folds what the killed process left undone: more than a few seconds
CATCH_UP_WITHIN = 60.0
LOAD_SECONDS = 1.5
#: a rebuild of the demo log takes a few seconds: one that waits for the killed one's claim
#: to go stale (minutes) has not started "at once"
AT_ONCE = 30.0


def wait_while_running(
    process: Process, url: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float
) -> list[dict[str, Any]]:
    """Poll the projections' tracking rows until ``ready`` says so (the process still
    running), at most ``timeout`` seconds; the rows then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive(), f"it ended before it was killed:\n{last_lines(process.output())}"
        rows = projection_rows(url)
        if ready(rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"not mid-way after {timeout:.0f} s: {projection_rows(url)}")


def load_then_check(
    processes: Processes, url: str, admin: str, officer: str, problems: list[str]
) -> None:
    """A server (its live follower takes over) under a load of new commands, then every
    check after a fault; what fails is added to ``problems``."""
    server = LedgerServer(processes, url).start()
    codes = TaxCodes()
    load = Load(server.base_url, lambda client, n: enterprise(officer, codes()), clients=4)
    load.run_for(LOAD_SECONDS)
    try:
        assert_recovered(processes, server, admin, load, live_within=CATCH_UP_WITHIN)
    except AssertionError as error:
        problems.append(str(error))
    states = get_json(server.base_url, "/api/admin/projections", admin)
    rebuilding = [s["name"] for s in states if s["rebuilding"]]
    if rebuilding:
        problems.append(f"- still marked as being rebuilt, though no rebuild runs: {rebuilding}")


def test_a_follower_killed_in_the_middle_of_a_batch_leaves_nothing_folded_twice(
    migrated_database: Database, demo_log: DemoLog, processes: Processes
) -> None:
    url = migrated_database.url
    # Step 1: the demo log, nothing folded yet.
    load_demo_log(url, demo_log)
    people = add_people(processes, url)

    # Step 2: `ledger projections follow` catches up; killed once it is batches into it.
    follower = processes.spawn(url, "projections", "follow")
    rows = wait_while_running(
        follower,
        url,
        lambda rows: bool(rows) and max(r["position"] for r in rows) >= 2 * CATCH_UP_BATCH,
        60,
    )
    follower.kill9()
    head = demo_log.events + 2
    assert any(r["position"] < head for r in projection_rows(url)), f"not mid-way: {rows}"

    # Step 3: a server's follower takes over; new commands; every check.
    problems: list[str] = []
    load_then_check(processes, url, people.admin, people.officer, problems)
    assert not problems, "\n".join(problems)


def test_a_rebuild_killed_mid_way_does_not_block_the_next_one(
    migrated_database: Database, demo_log: DemoLog, processes: Processes
) -> None:
    url = migrated_database.url
    # Step 1: the demo log, nothing folded yet.
    load_demo_log(url, demo_log)
    people = add_people(processes, url)

    # Step 2: `ledger projections rebuild`, killed once a full batch is written.
    rebuild = processes.spawn(url, "projections", "rebuild")
    wait_while_running(
        rebuild,
        url,
        lambda rows: (
            bool(rows) and all((r["rebuild_position"] or 0) >= REBUILD_BATCH for r in rows)
        ),
        60,
    )
    rebuild.kill9()

    # Step 3: a new rebuild starts, and succeeds, at once.
    problems: list[str] = []
    started = time.monotonic()
    again = processes.spawn(url, "projections", "rebuild")
    try:
        status = again.wait(AT_ONCE)
    except AssertionError as error:
        problems.append(f"- a rebuild after the killed one did not end at once: {error}")
    else:
        if status != 0:
            problems.append(
                f"- a rebuild after the killed one exited {status} after "
                f"{time.monotonic() - started:.1f} s:\n{last_lines(again.output(), 3)}"
            )

    # Step 4: a server's follower takes over; new commands; every check.
    load_then_check(processes, url, people.admin, people.officer, problems)
    assert not problems, "\n".join(problems)
