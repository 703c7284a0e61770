"""Fixtures of the fault suite: a migrated database per backend, the ``ledger`` processes of
a test (killed at its end, whatever happens), the people who send commands, and a demo log
big enough that a rebuild or a catch-up can be killed half-way through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import checkpoint as cp
from tests.faults.harness import LedgerServer, Processes, ledger_env
from tests.support.databases import PG_ADMIN_URL
from tests.support.faults import DEMO_SCALE, Database, DemoLog, People, add_people


@pytest.fixture
def migrated_database(backend: str, database_url: str) -> Database:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    return Database(database_url, backend)


@pytest.fixture
def pg_admin_url() -> str:
    return PG_ADMIN_URL


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Starts the test's ``ledger`` processes; kills whatever still runs at the end."""
    running = Processes(tmp_path, ledger_env(tmp_path))
    yield running
    running.close()


@pytest.fixture
def served(processes: Processes, migrated_database: Database) -> tuple[LedgerServer, People]:
    """``ledger serve`` over the test's database, healthy, and its people (added with
    ``ledger users add`` while it starts)."""
    server = LedgerServer(processes, migrated_database.url).launch()
    people = add_people(processes, migrated_database.url)
    server.wait_healthy()
    return server, people


@pytest.fixture
def server(served: tuple[LedgerServer, People]) -> LedgerServer:
    return served[0]


@pytest.fixture
def tokens(served: tuple[LedgerServer, People]) -> People:
    return served[1]


@pytest.fixture(scope="session")
def demo_log(tmp_path_factory: pytest.TempPathFactory) -> DemoLog:
    """The demo program at ``DEMO_SCALE`` (loaded once per session into a SQLite file with
    ``ledger demo``), exported with ``ledger export events`` after a signed checkpoint."""
    directory = tmp_path_factory.mktemp("demo-log")
    processes = Processes(directory, ledger_env(directory))
    url = f"sqlite:///{directory / 'demo.db'}"
    try:
        for args in (
            ("db", "upgrade"),
            ("demo", "--scale", DEMO_SCALE),
            ("keys", "init"),
            ("checkpoint", "--out", str(directory / "checkpoint.json")),
            ("export", "events", "--out", str(directory / "events.jsonl")),
        ):
            status, output = processes.run(url, *args, timeout=180)
            assert status == 0, f"`ledger {' '.join(args)}` failed:\n{output}"
    finally:
        processes.close()
    held = cp.read_file(directory / "checkpoint.json")
    return DemoLog(directory / "events.jsonl", directory / "checkpoint.json", held.tree_size)
