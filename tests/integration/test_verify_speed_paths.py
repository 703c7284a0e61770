"""The fast paths of the verification (``projections.verify``): the leaves hashed by
PostgreSQL, in chunks read on two connections sharing one snapshot, and by worker processes
on SQLite, each recomputing a part of the log and answering the complete subtrees of its part.

Each test makes the paths run on a small log (the chunks and the threshold for worker
processes made small) and checks what they give against the leaves and roots written out
independently in ``test_merkle_log`` (a naive RFC 9162 reading), at every size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import checkpoint as cp
from ledger import merkle
from projections import checkpoints, verify_worker
from projections import verify as verify_module
from projections.projector import Projector
from projections.verify import verify
from tests.support.story import Story
from tests.support.tampering import TAMPERS, Superuser, leaf_of, leaves_of, naive_root, raw_events

#: topics no event of the ledger has, each a character a JSON string escapes or a COPY
#: would (tab, newline, backslash), quotes, the other control characters, DEL, non-ASCII
UNUSUAL_TOPICS = [
    'a\tb\\c\nd"e',
    "tên\\x41\r\x7f",
    "\x01\x02\x08\x0b\x0c\x1b\x1f end",
    '"',
    "\\",
    "\\\\n\\t",
    "Quyết định số 12/QĐ-UBND — “trích dẫn” 😀",
    "line\u2028sep\u2029para\x85",
    "del\x7f and nbsp\xa0",
]


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast paths for any log: chunks of 5 positions (so that both connections take
    some), and worker processes from one event on."""
    monkeypatch.setattr(verify_module, "CHUNK", 5)
    monkeypatch.setattr(verify_module, "PROCESSES_FROM", 1)


@pytest.fixture
def only_fast(monkeypatch: pytest.MonkeyPatch, fast: None) -> None:
    """As ``fast``, and reading the log event by event here fails the test."""

    def refused(*_: Any) -> None:
        raise AssertionError("the log was read event by event, not by the fast path")

    monkeypatch.setattr(verify_module, "_leaves_by_cursor", refused)


def unusual_topics(superuser: Superuser) -> None:
    for position, topic in enumerate(UNUSUAL_TOPICS, start=2):
        superuser.run("UPDATE ledger_events SET topic = :t WHERE id = :p", t=topic, p=position)


def _database_file(url: str) -> str:
    database = sa.engine.make_url(url).database
    assert database
    return database


# -- a tree made in parts ---------------------------------------------------------------------


def test_a_tree_made_in_parts_and_joined_is_the_tree_of_all_its_leaves() -> None:
    """Parts begin anywhere (not only where a subtree does); the span at a mark gives the
    root at that size; parts join in order."""
    leaves = [hashlib.sha256(b"%d" % i).digest() for i in range(140)]
    for size in [*range(0, 40), 63, 64, 65, 127, 128, 129, 140]:
        everything = set(range(size + 1))
        for cut in sorted({0, 1, 2, 3, 5, 8, size // 3, size // 2, size - 1, size} & everything):
            first, second = merkle.Span(), merkle.Span(cut)
            first_taken = first.extend(leaves[:cut], everything)
            second_taken = second.extend(leaves[cut:size], everything)
            assert first.join(second).root() == naive_root(leaves[:size])
            assert set(first_taken) == set(range(1, cut + 1))
            assert set(second_taken) == set(range(cut + 1, size + 1))
            for at, part in [*first_taken.items(), *second_taken.items()]:
                whole = part if part.start == 0 else first.join(part)
                assert (whole.end, whole.root()) == (at, naive_root(leaves[:at]))
            third = merkle.Span(cut)
            for at in range(cut, size, 7):  # a span grows by pieces too
                third.extend(leaves[at : min(at + 7, size)])
            assert first.join(third).hashes == first.join(second).hashes
    with pytest.raises(ValueError):
        merkle.Span(3).join(merkle.Span(4))
    with pytest.raises(ValueError):
        merkle.Span(3).root()


# -- the leaves -------------------------------------------------------------------------------


def test_the_server_and_the_workers_make_the_canonical_leaves_whatever_a_topic_holds(
    story: Story, superuser: Superuser, database_url: str, backend: str
) -> None:
    unusual_topics(superuser)
    events = raw_events(database_url)
    assert [t for _, _, _, t, _ in events[1 : 1 + len(UNUSUAL_TOPICS)]] == UNUSUAL_TOPICS
    leaves = [leaf_of(*event) for event in events]
    assert leaves == [merkle.event_leaf_hash(o, v, p, s, t) for p, o, v, t, s in events]
    size = len(leaves)
    if backend == "postgresql":
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    f"SELECT id, {verify_module.SERVER_LEAF} FROM ledger_events ORDER BY id"
                ).all()
        finally:
            engine.dispose()
        assert [(int(p), bytes(h)) for p, h in rows] == list(enumerate(leaves, start=1))
    else:
        path = _database_file(database_url)
        every = range(1, size + 1)
        whole = verify_worker.sqlite_span(path, "ledger_events", 0, size, frozenset(every))
        assert whole is not None
        span, taken = whole
        assert span.root() == naive_root(leaves)
        assert {s: part.root() for s, part in taken.items()} == {
            s: naive_root(leaves[:s]) for s in every
        }
        for cut in (1, 2, 3, 8, size // 2, size - 1):  # a worker's part begins anywhere
            first = verify_worker.sqlite_span(path, "ledger_events", 0, cut)
            second = verify_worker.sqlite_span(path, "ledger_events", cut, size, frozenset(every))
            assert first is not None and second is not None
            assert first[0].join(second[0]).root() == naive_root(leaves)
            for s, part in second[1].items():
                assert first[0].join(part).root() == naive_root(leaves[:s])


def test_the_fast_pass_gives_the_root_at_every_size(
    story: Story, superuser: Superuser, database_url: str, only_fast: None
) -> None:
    """Every size is a size a checkpoint could have; the roots are the naive ones."""
    unusual_topics(superuser)
    ledger = story.ledger
    leaves = leaves_of(database_url)
    size = len(leaves)
    assert size > 3 * verify_module.CHUNK
    projector = Projector(ledger)
    with projector.reading("merkle") as (connection, _, _):
        count, roots, gap = verify_module._recompute(ledger, connection, set(range(size + 3)))
    assert (count, gap) == (size, None)
    assert roots == {s: naive_root(leaves[:s]) for s in range(size + 1)}


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_sqlite_log_is_split_between_worker_processes(
    story: Story, database_url: str, backend: str, monkeypatch: pytest.MonkeyPatch, fast: None
) -> None:
    asked: list[dict[str, Any]] = []
    spawned = subprocess.Popen

    def spy(*args: Any, **kwargs: Any) -> Any:
        worker = spawned(*args, **kwargs)
        real = worker.communicate

        def communicate(request: bytes) -> Any:
            asked.append(json.loads(request))
            return real(request)

        # a spy on this one worker's method, taking only what the verification sends
        worker.communicate = communicate  # type: ignore[method-assign, assignment]
        return worker

    monkeypatch.setattr(subprocess, "Popen", spy)
    leaves = leaves_of(database_url)
    with Projector(story.ledger).reading("merkle") as (connection, _, _):
        done = verify_module._recompute_in_workers(story.ledger, connection, {5, len(leaves) - 1})
    assert done is not None
    assert done[1][len(leaves)] == naive_root(leaves)
    assert [(a["start"], a["end"]) for a in asked] == [
        (0, len(leaves) // 2),
        (len(leaves) // 2, len(leaves)),
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_worker_that_fails_leaves_the_pass_to_this_process(
    story: Story,
    database_url: str,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fast: None,
) -> None:
    monkeypatch.setattr(verify_module, "_WORKER", ("-c", "import sys; sys.exit('no worker today')"))
    leaves = leaves_of(database_url)
    with (
        caplog.at_level(logging.WARNING, logger=verify_module.__name__),
        Projector(story.ledger).reading("merkle") as (connection, _, _),
    ):
        count, roots, gap = verify_module._recompute(story.ledger, connection, {3})
    assert (count, gap, roots[3], roots[count]) == (
        len(leaves),
        None,
        naive_root(leaves[:3]),
        naive_root(leaves),
    )
    assert "no worker today" in caplog.text


# -- one log, whatever is written meanwhile ---------------------------------------------------


def test_events_appended_during_the_pass_are_not_in_it(
    story: Story, database_url: str, only_fast: None
) -> None:
    before = leaves_of(database_url)
    projector = Projector(story.ledger)
    with projector.reading("merkle") as (connection, _, _):
        story.settled(city=10_000_000, paid=10_000_000)  # committed after the read began
        count, roots, _ = verify_module._recompute(story.ledger, connection, {len(before)})
    assert len(leaves_of(database_url)) > count == len(before)
    assert roots[count] == naive_root(before)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_both_connections_read_the_snapshot_of_the_verification(
    story: Story, superuser: Superuser, database_url: str, backend: str, only_fast: None
) -> None:
    before = leaves_of(database_url)
    projector = Projector(story.ledger)
    with projector.reading("merkle") as (connection, _, _):
        for position in range(1, len(before) + 1):  # every chunk, on either connection
            superuser.run("UPDATE ledger_events SET topic = topic || '!' WHERE id = :p", p=position)
        count, roots, _ = verify_module._recompute(story.ledger, connection, {7})
    assert (count, roots[7], roots[count]) == (
        len(before),
        naive_root(before[:7]),
        naive_root(before),
    )
    assert leaves_of(database_url)[0] != before[0]


# -- verification on the fast paths -----------------------------------------------------------


def test_an_untouched_log_verifies_clean_on_the_fast_path(
    story: Story, projector: Projector, database_url: str, only_fast: None
) -> None:
    key = Ed25519PrivateKey.generate()
    first = checkpoints.make(projector, key)
    story.settled(city=10_000_000, paid=10_000_000)
    second = checkpoints.make(projector, key)
    story.settled(city=10_000_000, paid=10_000_000)
    result = verify(projector, public_key=cp.raw_public(key))
    assert result.ok, result.problems
    assert first.tree_size < second.tree_size < result.checked
    assert result.root_hash == naive_root(leaves_of(database_url)).hex()


@pytest.mark.parametrize("kind", TAMPERS)
def test_tampering_is_named_on_the_fast_path(
    story: Story, projector: Projector, superuser: Superuser, kind: str, fast: None
) -> None:
    key = Ed25519PrivateKey.generate()
    held = checkpoints.make(projector, key)
    at = held.tree_size // 2
    superuser.tamper(kind, at)
    result = verify(projector, public_key=cp.raw_public(key))
    assert not result.ok
    assert result.first_bad_position == at
    first = min(
        (p for p in result.problems if p.position is not None), key=lambda p: p.position or 0
    )
    assert (first.kind, first.position) == (kind, at)
    assert any(p.kind == "inconsistent_checkpoint" for p in result.problems)
