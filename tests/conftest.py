"""Fixtures shared by every test: a fresh, migrated database per test on each backend.

The contract suite runs on SQLite and on PostgreSQL: a test that asks for ``database_url``
(or ``ledger``) runs once per backend; each test gets its own database (on PostgreSQL cloned
from a migrated template, ``tests/support/databases.py``). Without PostgreSQL those tests skip
with a message saying how to run them; with ``CI=true`` they are required and fail instead.

The helpers the tests share besides fixtures are in ``tests/support/``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import hypothesis  # noqa: F401 - see below
import pytest

import migrations
from api.read_side import ReadSide
from ledger import settings
from ledger.service import Ledger
from tests.support.databases import BACKENDS, IN_CI, PG_ADMIN_URL, PostgresDatabases, pg_reachable
from tests.support.people import People, grant_people

# hypothesis is imported here, at the start, not by its plugin's terminal summary at the end:
# CPython 3.11.7 can fail an import's AST conversion with "SystemError: AST constructor
# recursion depth mismatch" when a garbage collection runs finalizers in the middle of it
# (a bug of the interpreter), and by the end of a session there is much garbage to collect.


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    problem = pg_reachable()
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


@pytest.fixture(autouse=True, scope="session")
def english_locale() -> Iterator[None]:
    """The command line in English whatever the machine's locale (a Vietnamese one would
    make ``ledger`` answer in Vietnamese); the tests of Vietnamese set their own."""
    patch = pytest.MonkeyPatch()
    patch.delenv("LC_ALL", raising=False)
    patch.delenv("LC_MESSAGES", raising=False)
    patch.setenv("LANG", "C.UTF-8")
    yield
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


@pytest.fixture
def people(ledger: Ledger) -> People:
    return grant_people(ledger)
