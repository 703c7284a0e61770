"""What the fault suite shares besides fixtures: the test's database, the tokens of its
people, the demo log (its processes, loads and checks are in ``tests/faults/harness.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import checkpoint as cp
from ledger.event_log import import_file
from ledger.service import Ledger
from tests.faults.harness import Processes, pg_database_name

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


#: the faults only PostgreSQL has (``pg_terminate_backend``): ``backend`` fixed to it
postgresql_only = pytest.mark.parametrize("backend", ["postgresql"])


def add_people(processes: Processes, url: str) -> People:
    officer, admin = processes.add_users(
        url, ("Nguyễn Văn Tải", "officer", "SKHCN"), ("Quản trị Sự cố", "admin", "SKHCN")
    )
    return People(officer=officer, admin=admin)


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
