"""Fixtures shared by the integration tests of the Merkle log and its verification: a settled
story, a projector, a signing key, and a superuser who tampers with the log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.service import Ledger
from projections.projector import Projector
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
