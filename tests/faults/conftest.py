"""Fixtures of the fault suite: a migrated database per backend, the ``ledger`` processes of
a test (killed at its end, whatever happens), the people who send commands, and a demo log
big enough that a rebuild or a catch-up can be killed half-way through.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import checkpoint as cp
from ledger.event_log import import_file
from ledger.service import Ledger
from tests.conftest import PG_ADMIN_URL
from tests.faults.harness import LedgerServer, Processes, ledger_env, pg_database_name

#: the demo program's scale for the big log (≈ 12,500 events: a rebuild reads it in one full
#: batch and a tail, a catch-up in seven batches per projection)
DEMO_SCALE = "0.45"


@dataclass(frozen=True)
class Database:
    """A fresh, migrated, empty database of the test."""

    url: str
    backend: str

    @property
    def pg_name(self) -> str:
        assert self.backend == "postgresql"
        return pg_database_name(self.url)


@dataclass(frozen=True)
class People:
    """Tokens made with ``ledger users add``: an SKHCN officer and an admin."""

    officer: str
    admin: str


@dataclass(frozen=True)
class DemoLog:
    """The demo program's event log exported once per session, with its checkpoint."""

    path: Path
    checkpoint: Path
    events: int


@pytest.fixture
def migrated_database(backend: str, database_url: str) -> Database:
    """A fresh, migrated database, once on SQLite and once on PostgreSQL."""
    return Database(database_url, backend)


#: the faults only PostgreSQL has (``pg_terminate_backend``): ``backend`` fixed to it
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"])


@pytest.fixture
def pg_admin_url() -> str:
    return PG_ADMIN_URL


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Starts the test's ``ledger`` processes; kills whatever still runs at the end."""
    running = Processes(tmp_path, ledger_env(tmp_path))
    yield running
    running.close()


def add_people(processes: Processes, url: str) -> People:
    officer, admin = processes.add_users(
        url, ("Nguyễn Văn Tải", "officer", "SKHCN"), ("Quản trị Sự cố", "admin", "SKHCN")
    )
    return People(officer=officer, admin=admin)


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


def load_demo_log(url: str, log: DemoLog) -> int:
    """Import the demo log into the empty database at ``url`` (the project's import: every
    leaf checked against the checkpoint, positions kept); the read models are left at 0."""
    ledger = Ledger(url)
    try:
        result = import_file(
            ledger.engine, ledger.events_table, log.path, cp.read_file(log.checkpoint), None
        )
    finally:
        ledger.engine.dispose()
    return int(result.checked)
