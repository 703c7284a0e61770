"""Fixtures shared by every test: a fresh, migrated database per test on each backend.

The contract suite runs on SQLite and on PostgreSQL: a test that asks for ``database_url``
(or ``ledger``) runs once per backend. PostgreSQL is reached at ``LEDGER_TEST_PG_URL``
(default ``postgresql+psycopg2://postgres@127.0.0.1:5432/postgres``); each test gets its own
database, cloned from a migrated template. Without PostgreSQL those tests skip with a message
saying how to run them; with ``CI=true`` they are required and fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import hypothesis  # noqa: F401 - see below
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.testclient import TestClient

import migrations
from api.read_side import ReadSide
from ledger import commands as c
from ledger import settings
from ledger.access import SYSTEM, Actor
from ledger.service import Ledger

# hypothesis is imported here, at the start, not by its plugin's terminal summary at the end:
# CPython 3.11.7 can fail an import's AST conversion with "SystemError: AST constructor
# recursion depth mismatch" when a garbage collection runs finalizers in the middle of it
# (a bug of the interpreter), and by the end of a session there is much garbage to collect.

PG_ADMIN_URL = settings.TEST_PG_URL.get()
IN_CI = settings.CI.get()
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_reachable() -> str | None:
    try:
        engine = _pg_admin_engine()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return str(error).splitlines()[0]
    return None


class PostgresDatabases:
    """Creates per-test databases from one migrated template (fast ``CREATE ... TEMPLATE``)."""

    def __init__(self) -> None:
        self.engine = _pg_admin_engine()
        self.prefix = f"nscl_test_{os.getpid()}"
        self.template = f"{self.prefix}_tpl"
        self.count = 0
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.template}"'))
            connection.execute(sa.text(f'CREATE DATABASE "{self.template}"'))
        migrations.upgrade(self.url_for(self.template))

    def url_for(self, name: str) -> str:
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def create(self) -> tuple[str, str]:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name, self.url_for(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.drop(self.template)
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    problem = _pg_reachable()
    if problem is not None:
        message = (
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({problem}). Start it "
            "(pg_ctlcluster --skip-systemctl-redirect 15 main start) or set "
            "LEDGER_TEST_PG_URL; with CI=true these tests are required."
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True, scope="session")
def replay_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Replay snapshots in a temporary directory, one every 5 events, so that every replay
    test also starts from them (their own tests: ``test_replay_snapshots.py``)."""
    directory = tmp_path_factory.mktemp("replay-snapshots")
    patch = pytest.MonkeyPatch()
    patch.setenv(settings.REPLAY_DIR.name, str(directory))
    patch.setenv(settings.REPLAY_SNAPSHOT_EVERY.name, "5")
    yield directory
    patch.undo()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database on the backend under test."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ledger.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name, url = databases.create()
    yield url
    databases.drop(name)


@pytest.fixture
def another_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], str]:
    """Makes more fresh, migrated, empty databases on the backend under test (an import's
    target, say); each is dropped after the test."""

    def make() -> str:
        if backend == "sqlite":
            path = tmp_path / f"another-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        name, url = databases.create()
        request.addfinalizer(lambda: databases.drop(name))
        return url

    return make


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (for tests that need real concurrency)."""
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name, url = databases.create()
    yield url
    databases.drop(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_pg = "pg_url" in fixtures or (
            callspec is not None and callspec.params.get("backend") == "postgresql"
        )
        if on_pg:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = Ledger(database_url)
    yield app
    app.engine.dispose()


@pytest.fixture
def read_side(ledger: Ledger) -> ReadSide:
    """What the HTTP app's readers are given over ``ledger`` (``app.state.read_side``)."""
    return ReadSide(ledger)


def read_side_of(client: TestClient) -> ReadSide:
    """The read side of the app ``client`` talks to (``app.state.read_side``)."""
    # TestClient types its app as any ASGI callable; the client of a test holds create_app's
    app = cast(Starlette, client.app)
    return cast(ReadSide, app.state.read_side)


@dataclass(frozen=True)
class People:
    """One user per role, as the ledger knows them (granted through the service)."""

    officer: Actor  # SKHCN officer who submits, appraises, contracts, pays
    approver: Actor  # a second SKHCN officer, who approves
    appraiser: Actor  # a third SKHCN officer
    district_officer: Actor  # officer of a district committee (may not approve)
    finance: Actor
    admin: Actor
    leader: Actor
    inspector: Actor
    viewer: Actor
    tokens: dict[str, str]


def auth(people: People, role: str = "viewer") -> dict[str, str]:
    """The headers of a request made by ``people``'s user of ``role``."""
    return {"Authorization": f"Bearer {people.tokens[role]}"}


def grant(ledger: Ledger, name: str, role: str, department: str) -> tuple[Actor, str]:
    granted = ledger.grant_access(
        c.GrantAccess(name=name, role=role, department=department), SYSTEM
    )
    return ledger.authenticate(granted.token), granted.token


def grant_people(ledger: Ledger) -> People:
    """One user per role, granted on ``ledger`` (the ``people`` fixture, for any ledger)."""
    made: dict[str, tuple[Actor, str]] = {
        "officer": grant(ledger, "Nguyễn Văn An", "officer", "SKHCN"),
        "approver": grant(ledger, "Trần Thị Bình", "officer", "SKHCN"),
        "appraiser": grant(ledger, "Lê Văn Cường", "officer", "SKHCN"),
        "district_officer": grant(ledger, "Phạm Thị Dung", "officer", "QH-CAUGIAY"),
        "finance": grant(ledger, "Hoàng Văn Em", "finance", "STC"),
        "admin": grant(ledger, "Quản trị", "admin", "SKHCN"),
        "leader": grant(ledger, "Vũ Văn Giang", "leader", "UBND"),
        "inspector": grant(ledger, "Đỗ Thị Hà", "inspector", "STC"),
        "viewer": grant(ledger, "Bùi Văn Khánh", "viewer", "SCT"),
    }
    return People(
        **{role: actor for role, (actor, _) in made.items()},
        tokens={role: token for role, (_, token) in made.items()},
    )


@pytest.fixture
def people(ledger: Ledger) -> People:
    return grant_people(ledger)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
