"""``kill -9`` of ``ledger serve`` in the middle of a load, restarted at once.

Eight clients register enterprises, each with a unique tax code and its own Idempotency-Key,
and send a command again with the same key until it is acknowledged. The server is killed
with SIGKILL twice while they do (on PostgreSQL at a moment when one of its
commands has written and not committed). Afterwards: every acknowledged command is
stored exactly once, nothing is stored that was not acknowledged, the positions have no hole,
the log verifies, the read models reconcile, and the restarted server's live projections
reach the head without ``min_position``.
"""

from __future__ import annotations

import time

from tests.faults.harness import (
    LedgerServer,
    Load,
    Processes,
    TaxCodes,
    assert_recovered,
    enterprise,
    wait_for_a_writing_command,
)
from tests.support.faults import Database, People

KILLS = 2
SECONDS_BETWEEN = 0.8


def test_a_server_killed_in_the_middle_of_a_load_loses_and_duplicates_nothing(
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
    kills: list[float] = []
    try:
        # Step 2: kill -9 the server under the load, restart it at once; twice.
        for _ in range(KILLS):
            time.sleep(SECONDS_BETWEEN)
            if migrated_database.backend == "postgresql":
                wait_for_a_writing_command(pg_admin_url, migrated_database.pg_name)
            kills.append(time.monotonic())
            server.kill9()
            server.restart()
        time.sleep(SECONDS_BETWEEN)
    finally:
        load.stop()

    # Step 3: the load went on after each restart ...
    for moment in kills:
        assert load.acked_after(moment), f"nothing acknowledged after a restart; {load.summary()}"
    # ... and nothing was lost, duplicated or left inconsistent.
    assert_recovered(processes, server, tokens.admin, load)
