"""Fixtures shared by the integration tests of the Merkle log and its verification."""

from __future__ import annotations

import pytest

from ledger.service import Ledger
from projections.projector import Projector
from tests.support.people import People
from tests.support.story import Story


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
