"""``kill -9`` of ``ledger import`` in the middle of its COPY (PostgreSQL, a real process over
127.0.0.1): the server rolls the one transaction back, so the database is left as it was,
empty, with the position trigger (switched off inside that transaction) on, and the next
import takes the same file whole."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import sqlalchemy as sa

from ledger import event_log
from ledger.service import Ledger
from tests.faults.harness import Processes, last_lines
from tests.support.event_logs import synthetic_log
from tests.support.faults import Database, postgresql_only

#: big enough that the COPY runs for a second or more
EVENTS = 150_000
#: rows the COPY has taken when the process is killed
KILL_AFTER_ROWS = 5_000


def copy_progress(engine: sa.Engine) -> int | None:
    """Rows the COPY into this database has taken so far (None: no COPY under way)."""
    with engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT tuples_processed FROM pg_stat_progress_copy "
                "WHERE datname = current_database() AND command = 'COPY FROM'"
            )
        ).scalar()
    return None if found is None else int(found)


def other_backends(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


def state(engine: sa.Engine) -> tuple[int, int, str]:
    """(events, recorded holes, the position trigger's tgenabled)."""
    with engine.connect() as connection:
        events = connection.execute(sa.text("SELECT count(*) FROM ledger_events")).scalar_one()
        holes = connection.execute(sa.text("SELECT count(*) FROM log_gaps")).scalar_one()
        enabled = connection.execute(
            sa.text(
                "SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_events_position' "
                "AND tgrelid = 'ledger_events'::regclass"
            )
        ).scalar_one()
    return int(events), int(holes), str(enabled)


@postgresql_only
def test_an_import_killed_mid_copy_leaves_the_database_empty(
    processes: Processes, migrated_database: Database, tmp_path: Path
) -> None:
    url = migrated_database.url
    assert "@127.0.0.1" in url
    path = tmp_path / "log.jsonl"
    held, public = synthetic_log(path, EVENTS)
    held_path, key_path = tmp_path / "cp.json", tmp_path / "key.txt"
    held_path.write_text(json.dumps(held.to_json()))
    key_path.write_text(base64.b64encode(public).decode())
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        importing = processes.spawn(
            url, "import", str(path), "--checkpoint", str(held_path), "--public-key", str(key_path)
        )
        deadline = time.monotonic() + 120
        while (rows := copy_progress(engine)) is None or rows < KILL_AFTER_ROWS:
            assert importing.alive(), f"it ended before the kill:\n{last_lines(importing.output())}"
            assert time.monotonic() < deadline, "no COPY under way after 120 s"
            time.sleep(0.01)
        importing.kill9()
        # the server sees the client gone and rolls its transaction back
        deadline = time.monotonic() + 60
        while other_backends(engine):
            assert time.monotonic() < deadline, "the killed import's session is still there"
            time.sleep(0.05)
        assert state(engine) == (0, 0, "O")

        ledger = Ledger(url)
        try:
            done = event_log.import_file(ledger.engine, ledger.events_table, path, held, public)
            assert done.root_hash == held.root_hash
        finally:
            ledger.engine.dispose()
        assert state(engine) == (EVENTS, 0, "O")
    finally:
        engine.dispose()
