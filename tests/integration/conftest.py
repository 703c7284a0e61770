"""Fixtures shared by the integration tests: a settled story, a projector, a signing key, a
superuser who tampers with the log (the Merkle log and its verification), and the demo
program with its read models caught up (the program reports and open data)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.read_side import ReadSide
from ledger.service import Ledger
from projections.projector import Projector
from tests.support.databases import PostgresDatabases
from tests.support.demo import load_demo
from tests.support.people import People
from tests.support.story import Story
from tests.support.tampering import Superuser


@pytest.fixture
def story(ledger: Ledger, people: People) -> Story:
    """A budget line and an application settled on it."""
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.settled(city=60_000_000, paid=60_000_000)
    return story


@pytest.fixture
def projector(ledger: Ledger) -> Projector:
    return Projector(ledger)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def superuser(database_url: str) -> Iterator[Superuser]:
    su = Superuser(database_url)
    yield su
    su.close()


@pytest.fixture(
    scope="package", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo_side(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReadSide]:
    """The demo program (scale 0.03) on each database, its read models caught up: shared by
    the tests that only read it."""
    drop = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("program-report") / "ledger.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        drop, url = databases.create()
    ledger = Ledger(url)
    try:
        load_demo(ledger, scale=0.03)
        read_side = ReadSide(ledger)
        read_side.projector.catch_up()
        yield read_side
    finally:
        ledger.engine.dispose()
        if drop is not None:
            databases.drop(drop)
