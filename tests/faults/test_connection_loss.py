"""PostgreSQL ends the server's connections (``pg_terminate_backend``) under load.

The server must treat a lost connection as the database being unavailable for a moment:
answer 503 (``storage_unavailable``, with ``Retry-After``) or retry by itself, never 500;
lose, duplicate or leave a hole for nothing; and keep its live projections following the log
(its follower's LISTEN connection is among those ended). ``GET /api/health`` must not
answer "ok" for a server whose projections have stopped following.
"""

from __future__ import annotations

import time

import httpx

from tests.faults.harness import (
    LedgerServer,
    Load,
    Processes,
    TaxCodes,
    assert_projections_live,
    assert_recovered,
    enterprise,
    poll_live_projections,
    terminate_backends,
)
from tests.support.faults import Database, People, postgresql_only

TERMINATIONS = 3
SECONDS_BETWEEN = 1.0
#: how soon new commands must show in the reports, without min_position
LIVE_WITHIN = 5.0


@postgresql_only
def test_connections_ended_in_the_middle_of_a_load_lose_duplicate_and_break_nothing(
    migrated_database: Database,
    tokens: People,
    server: LedgerServer,
    processes: Processes,
    pg_admin_url: str,
) -> None:
    # Step 1: eight clients register enterprises.
    codes = TaxCodes()
    load = Load(server.base_url, lambda client, n: enterprise(tokens.officer, codes()))
    load.start()
    ended: list[list[int]] = []
    try:
        # Step 2: end every connection of the server to its database, three times.
        for _ in range(TERMINATIONS):
            time.sleep(SECONDS_BETWEEN)
            ended.append(terminate_backends(pg_admin_url, migrated_database.pg_name))
        last = time.monotonic()
        time.sleep(SECONDS_BETWEEN)
    finally:
        load.stop()

    # Step 3: the server stayed up and went on acknowledging commands ...
    assert all(ended), f"no connection of the server found to end: {ended}"
    assert server.process is not None and server.process.alive(), server.output()
    assert load.acked_after(last), f"nothing acknowledged after the last fault; {load.summary()}"
    # ... no 500, nothing lost or duplicated, no hole, live projections at the head.
    assert_recovered(processes, server, tokens.admin, load, live_within=LIVE_WITHIN)


@postgresql_only
def test_the_follower_reconnects_after_its_connection_is_ended_and_health_tells_if_not(
    migrated_database: Database,
    tokens: People,
    server: LedgerServer,
    processes: Processes,
    pg_admin_url: str,
) -> None:
    # Step 1: a few commands; the live projections reach the head.
    codes = TaxCodes()
    before = Load(server.base_url, lambda client, n: enterprise(tokens.officer, codes()), 2)
    before.run_for(0.5)
    assert_projections_live(server, tokens.admin)

    # Step 2: end every connection of the server, its follower's LISTEN included.
    assert terminate_backends(pg_admin_url, migrated_database.pg_name)

    # Step 3: new commands (each sent again with its key until acknowledged).
    after = Load(server.base_url, lambda client, n: enterprise(tokens.officer, codes()), 2)
    after.run_for(1.0)
    assert after.acks, after.summary()

    # Step 4: they show in the reports within a few seconds, without min_position; if they
    # do not, GET /api/health must not answer that all is well.
    problems = []
    live = poll_live_projections(server, tokens.admin, LIVE_WITHIN)
    if not live.reached:
        problems.append(
            f"the live projections stopped following the log after their connection was "
            f"ended: {live.describe()}"
        )
        health = httpx.get(f"{server.base_url}/api/health", timeout=10)
        if health.status_code == 200 and health.json().get("status") == "ok":
            problems.append(
                f"GET /api/health hides the dead follower: 200 {health.text} while the "
                f"projections are {live.seconds:.0f} s behind the head"
            )
    try:
        assert_recovered(processes, server, tokens.admin, after, live_within=None)
    except AssertionError as error:
        problems.append(str(error))
    assert not problems, "\n".join(problems)
