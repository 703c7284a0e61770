"""Holes left in the log by the code before migration 0005, recorded and accounted for.

The hole is made as the old PostgreSQL sequence made one: an event stored one position
after the next, by a writer outside the ledger's rules (a superuser here). An unrecorded
hole stops the Merkle tree and is named by verification and refused by the export; once
``record_gaps`` has recorded it, the tree, verification, checkpoints, proofs, export,
offline verification and import all account for it. A deleted event is never taken for a
hole.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import checkpoint as cp
from ledger import event_log, log_gaps, merkle
from ledger.service import Ledger
from projections import checkpoints
from projections import merkle as tree
from projections.gaps import NotAHole, record_gaps, unrecorded
from projections.merkle import GapInLog
from projections.projector import Projector
from projections.verify import verify
from tests.support.people import grant_people
from tests.support.story import Story
from tests.support.tampering import Superuser, burn_a_position, leaf_of, naive_root


@pytest.fixture
def holed(story: Story, projector: Projector, superuser: Superuser) -> int:
    """The story's log with the tree caught up, a hole, then more events; the hole."""
    projector.catch_up()
    hole = burn_a_position(superuser, story.ledger)
    grant_people(story.ledger)  # the ledger writes on after the hole
    assert story.ledger.position() > hole + 1
    return hole


def test_an_unrecorded_hole_stops_the_tree_and_is_named_by_verify_and_the_export(
    holed: int, story: Story, projector: Projector, tmp_path: Path
) -> None:
    ledger = story.ledger
    with pytest.raises(GapInLog, match=f"skips position {holed}"):
        projector.catch_up("merkle")
    assert projector.position("merkle") == holed - 1
    assert unrecorded(projector) == [holed]

    result = verify(projector)
    assert not result.ok
    assert [(p.kind, p.position) for p in result.problems] == [("missing", holed)]

    with (
        pytest.raises(event_log.BadLog, match=f"skips position {holed}"),
        (tmp_path / "log.jsonl").open("wb") as out,
    ):
        event_log.export(ledger.engine, ledger.events_table, out, ledger.position(), None)


def test_a_recorded_hole_is_a_leaf_of_its_own_and_the_log_verifies(
    holed: int, story: Story, projector: Projector, key: Ed25519PrivateKey
) -> None:
    ledger = story.ledger
    [gap] = record_gaps(projector, "a write rolled back under the old sequence")
    assert gap.position == holed and gap.reason == "a write rolled back under the old sequence"
    assert gap.found_at.endswith("Z") and "@" in gap.found_by
    assert record_gaps(projector) == []  # once only
    assert unrecorded(projector) == []

    projector.catch_up()
    head = ledger.position()
    assert projector.position("merkle") == head
    leaves = _expected_leaves(ledger)
    assert leaves[holed - 1] == gap.leaf_hash()
    with projector.reading("merkle") as (connection, tables, size):
        assert size == head
        assert tree.root(connection, tables, size) == naive_root(leaves)
        leaf, path = tree.inclusion(connection, tables, holed + 1, size)
        assert merkle.verify_inclusion(holed, size, leaf, path, naive_root(leaves))

    assert verify(projector).ok
    held = checkpoints.make(projector, key)
    assert held.tree_size == head
    assert verify(projector, [held], cp.raw_public(key)).ok


def exported_with_its_holes(
    projector: Projector, key: Ed25519PrivateKey, tmp_path: Path
) -> tuple[cp.Checkpoint, Path]:
    """Record the log's holes, sign a checkpoint and export the log up to its head to
    ``log.jsonl``: the checkpoint and the file."""
    ledger = projector.ledger
    record_gaps(projector)
    held = checkpoints.make(projector, key)
    path = tmp_path / "log.jsonl"
    with path.open("wb") as out:
        event_log.export(ledger.engine, ledger.events_table, out, ledger.position(), held)
    return held, path


def test_a_log_with_a_recorded_hole_exports_verifies_offline_and_imports_whole(
    holed: int,
    story: Story,
    projector: Projector,
    key: Ed25519PrivateKey,
    tmp_path: Path,
    another_database: Callable[[], str],
) -> None:
    held, path = exported_with_its_holes(projector, key, tmp_path)
    _, entries = event_log.read(path)
    [logged_gap] = [e for e in entries if isinstance(e, event_log.LoggedGap)]
    assert logged_gap.position == holed
    assert event_log.verify_file(path, [held], cp.raw_public(key)).ok

    copy = Ledger(another_database())
    try:
        event_log.import_file(copy.engine, copy.events_table, path, held, cp.raw_public(key))
        copied = Projector(copy)
        copied.catch_up()
        with copied.reading("merkle") as (connection, tables, size):
            assert (size, tree.root(connection, tables, size)) == (held.tree_size, held.root)
        with copy.engine.connect() as connection:
            assert [g.position for g in log_gaps.recorded(connection)] == [holed]
        assert verify(copied, [held], cp.raw_public(key)).ok
        grant_people(copy)  # the copy writes on, at the next positions
        assert unrecorded(copied) == [] and verify(copied, [held], cp.raw_public(key)).ok
    finally:
        copy.engine.dispose()


def test_a_changed_record_of_a_hole_in_an_export_is_refused(
    holed: int, story: Story, projector: Projector, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    held, path = exported_with_its_holes(projector, key, tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"reason":"', b'"reason":"not really: '))
    result = event_log.verify_file(path, [held], cp.raw_public(key))
    assert [(p.kind, p.position) for p in result.problems][:1] == [("altered", holed)]


def test_a_deleted_event_is_never_recorded_as_a_hole(
    story: Story, projector: Projector, superuser: Superuser
) -> None:
    projector.catch_up()
    superuser.delete(5)  # the tree held it
    with pytest.raises(NotAHole, match="Position 5 held an event"):
        record_gaps(projector)
    assert unrecorded(projector) == [5]
    assert [(p.kind, p.position) for p in verify(projector).problems] == [("missing", 5)]


def test_a_changed_record_of_a_hole_is_named_by_verify(
    holed: int, story: Story, projector: Projector, superuser: Superuser
) -> None:
    record_gaps(projector)
    projector.catch_up()
    if not superuser.postgres:
        superuser.run("DROP TRIGGER log_gaps_no_update")  # the append-only trigger's way round
    superuser.run("UPDATE log_gaps SET reason = 'nothing to see' WHERE position = :p", p=holed)
    assert [(p.kind, p.position) for p in verify(projector).problems] == [("altered", holed)]


def _expected_leaves(ledger: Ledger) -> list[bytes]:
    """Every leaf as the RFC and the record define it, hashed here from the raw rows."""
    with ledger.engine.connect() as connection:
        gaps = {g.position: g for g in log_gaps.recorded(connection)}
        rows = {
            int(p): (o, int(v), t, bytes(s))
            for p, o, v, t, s in connection.execute(
                sa.text(
                    "SELECT id, originator_id, originator_version, topic, state FROM ledger_events"
                )
            )
        }
    leaves = []
    for position in range(1, max(rows) + 1):
        if position in gaps:
            leaves.append(gaps[position].leaf_hash())
            continue
        o, v, t, s = rows[position]
        oid = str(uuid.UUID(bytes=bytes(o)) if isinstance(o, bytes | memoryview) else o)
        leaves.append(leaf_of(position, oid, v, t, s))
    return leaves
