"""The Merkle log (issue 4): the tree the projection keeps, its proofs, signed checkpoints,
verification against tampering, and the event log exported, verified offline and imported.

Tampering is done as a superuser would: plain SQL on a separate engine with the append-only
triggers out of the way (``session_replication_role = replica`` on PostgreSQL; the triggers
dropped on SQLite).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import checkpoint as cp
from ledger import event_log, merkle
from ledger.service import Ledger
from projections import checkpoints
from projections import merkle as tree
from projections import verify as verify_module
from projections.projector import Projector
from projections.verify import verify
from tests.support.people import grant_people
from tests.support.story import Story
from tests.support.tampering import TAMPERS, Superuser, leaves_of, naive_root

# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def public(key: Ed25519PrivateKey) -> bytes:
    return cp.raw_public(key)


# -- the tree ---------------------------------------------------------------------------------


def test_the_tree_holds_every_event_with_the_rfc_root_and_proofs_that_verify(
    story: Story, projector: Projector, database_url: str
) -> None:
    projector.catch_up()
    leaves = leaves_of(database_url)
    size = len(leaves)
    assert size == story.ledger.count_events() > 20
    with projector.reading("merkle") as (connection, tables, position):
        assert position == size
        assert tree.root(connection, tables, size) == naive_root(leaves)
        for first in (1, 2, 5, size // 2, size - 1):
            assert tree.root(connection, tables, first) == naive_root(leaves[:first])
        root = naive_root(leaves)
        for p in range(1, size + 1):
            leaf, path = tree.inclusion(connection, tables, p, size)
            assert leaf == leaves[p - 1]
            assert merkle.verify_inclusion(p - 1, size, leaf, path, root)
        for first in range(1, size + 1):
            proof = tree.consistency(connection, tables, first, size)
            old = naive_root(leaves[:first])
            assert merkle.verify_consistency(first, size, old, root, proof)


def test_a_rebuilt_tree_equals_the_tree_kept_event_by_event(
    story: Story, projector: Projector
) -> None:
    projector.catch_up(batch_size=3)
    kept = projector.snapshot("merkle")
    projector.rebuild("merkle")
    assert projector.snapshot("merkle") == kept


# -- checkpoints ------------------------------------------------------------------------------


def test_checkpoints_are_signed_kept_and_consistent_with_each_other(
    story: Story, projector: Projector, key: Ed25519PrivateKey, public: bytes
) -> None:
    first = checkpoints.make(projector, key, "test-log")
    story.settled(city=10_000_000, paid=10_000_000)
    second = checkpoints.make(projector, key, "test-log")
    assert first.tree_size < second.tree_size == story.ledger.count_events()
    assert first.body == (f"test-log\n{first.tree_size}\n{base64.b64encode(first.root).decode()}\n")
    assert first.signed_by(public) and second.signed_by(public)
    assert first.key_id == cp.key_id(public, "test-log")
    with projector.engine.connect() as connection:
        assert checkpoints.listed(connection) == [first, second]
        assert checkpoints.latest(connection, second.tree_size - 1) == first
    with projector.reading("merkle") as (connection, tables, _):
        proof = tree.consistency(connection, tables, first.tree_size, second.tree_size)
    assert merkle.verify_consistency(
        first.tree_size, second.tree_size, first.root, second.root, proof
    )


def test_checkpoints_cannot_be_changed_or_removed(
    story: Story, projector: Projector, key: Ed25519PrivateKey, database_url: str
) -> None:
    checkpoints.make(projector, key)
    engine = sa.create_engine(database_url)
    try:
        for statement in (
            "UPDATE audit_checkpoints SET tree_size = 1",
            "DELETE FROM audit_checkpoints",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as c:
                c.execute(sa.text(statement))
    finally:
        engine.dispose()


# -- verification -----------------------------------------------------------------------------


def test_an_untouched_log_verifies_clean(
    story: Story, projector: Projector, key: Ed25519PrivateKey, public: bytes, database_url: str
) -> None:
    checkpoints.make(projector, key)
    story.settled(city=10_000_000, paid=10_000_000)
    result = verify(projector, public_key=public)
    assert result.ok, result.problems
    assert result.checked == story.ledger.count_events()
    assert result.root_hash == naive_root(leaves_of(database_url)).hex()


@pytest.mark.parametrize("kind", TAMPERS)
def test_tampering_is_named_with_its_kind_and_first_bad_position(
    story: Story,
    projector: Projector,
    superuser: Superuser,
    key: Ed25519PrivateKey,
    public: bytes,
    kind: str,
) -> None:
    held = checkpoints.make(projector, key)
    size = held.tree_size
    at = size // 2
    superuser.tamper(kind, at)
    result = verify(projector, public_key=public)
    assert not result.ok
    assert result.first_bad_position == at
    first = min(
        (p for p in result.problems if p.position is not None), key=lambda p: p.position or 0
    )
    assert (first.kind, first.position) == (kind, at)
    assert first.record_id is not None
    # the checkpoint the inspector holds no longer matches the log either
    assert any(p.kind == "inconsistent_checkpoint" for p in result.problems)


def test_a_rewritten_history_is_caught_against_the_older_checkpoint(
    story: Story, projector: Projector, superuser: Superuser, key: Ed25519PrivateKey, public: bytes
) -> None:
    held = checkpoints.make(projector, key)
    superuser.flip_a_byte(3)
    projector.rebuild("merkle")  # the forger rebuilds the tree to match the altered log
    result = verify(projector, public_key=public)
    assert [p.kind for p in result.problems] == ["inconsistent_checkpoint"]
    assert f"{held.tree_size:,} events" in result.problems[0].detail


def test_a_checkpoint_with_a_bad_signature_is_caught(
    story: Story, projector: Projector, key: Ed25519PrivateKey, public: bytes
) -> None:
    held = checkpoints.make(projector, key)
    signature = bytearray(base64.b64decode(held.signature))
    signature[0] ^= 1
    forged = cp.Checkpoint(**{**held.to_json(), "signature": base64.b64encode(signature).decode()})
    result = verify(projector, [forged], public_key=public)
    assert [p.kind for p in result.problems] == ["bad_signature"]
    other = cp.raw_public(Ed25519PrivateKey.generate())
    assert {p.kind for p in verify(projector, public_key=other).problems} == {"bad_signature"}


# -- export, offline verification, import -----------------------------------------------------


@pytest.fixture
def exported(
    story: Story, projector: Projector, key: Ed25519PrivateKey, tmp_path: Path
) -> tuple[cp.Checkpoint, Path]:
    """A checkpoint of the whole log and the log exported beside it."""
    held = checkpoints.make(projector, key)
    path = tmp_path / "log.jsonl"
    ledger = story.ledger
    with path.open("wb") as out:
        event_log.export(ledger.engine, ledger.events_table, out, ledger.count_events(), held)
    return held, path


def test_an_export_verifies_offline_and_imports_into_an_empty_database_with_the_same_root(
    exported: tuple[cp.Checkpoint, Path],
    story: Story,
    projector: Projector,
    public: bytes,
    another_database: Callable[[], str],
) -> None:
    held, path = exported
    header, events = event_log.read(path)
    assert header["checkpoint"] == held.to_json() and header["events"] == held.tree_size
    assert len(list(events)) == held.tree_size
    offline = event_log.verify_file(path, [held], public)
    assert offline.ok and offline.root_hash == held.root_hash

    other = another_database()
    copy = Ledger(other)
    try:
        event_log.import_file(copy.engine, copy.events_table, path, held, public)
        copy_projector = Projector(copy)
        copy_projector.catch_up()
        projector.catch_up()
        with copy_projector.reading("merkle") as (connection, tables, size):
            assert tree.root(connection, tables, size) == held.root
        for name in ("project_spend", "journal", "registers", "audit_trail"):
            assert copy_projector.snapshot(name) == projector.snapshot(name)
        assert verify(copy_projector, [held], public).ok
        # the imported ledger goes on: new events take the next positions
        grant_people(copy)
        assert copy.count_events() > held.tree_size
        assert verify(copy_projector, [held], public).ok
    finally:
        copy.engine.dispose()


@pytest.mark.parametrize("damage", ["state", "leaf_hash", "drop_line", "swap_lines"])
def test_a_tampered_export_is_refused_whole(
    exported: tuple[cp.Checkpoint, Path],
    public: bytes,
    another_database: Callable[[], str],
    damage: str,
) -> None:
    held, path = exported
    lines = path.read_bytes().splitlines(keepends=True)
    at = len(lines) // 2
    event = json.loads(lines[at])
    if damage == "state":
        state = bytearray(base64.b64decode(event["state"]))
        state[-2] ^= 0x01
        event["state"] = base64.b64encode(bytes(state)).decode()
        lines[at] = json.dumps(event).encode() + b"\n"
    elif damage == "leaf_hash":
        event["leaf_hash"] = "0" * 64
        lines[at] = json.dumps(event).encode() + b"\n"
    elif damage == "drop_line":
        del lines[at]
    else:
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
    path.write_bytes(b"".join(lines))
    assert not event_log.verify_file(path, [held], public).ok
    other = another_database()
    copy = Ledger(other)
    try:
        with pytest.raises(event_log.ImportRefused, match="nothing was imported"):
            event_log.import_file(copy.engine, copy.events_table, path, held, public)
        assert copy.count_events() == 0
    finally:
        copy.engine.dispose()


def test_an_import_into_a_database_with_events_is_refused(
    exported: tuple[cp.Checkpoint, Path], story: Story, public: bytes
) -> None:
    held, path = exported
    before = story.ledger.count_events()
    with pytest.raises(event_log.ImportRefused, match="already holds events"):
        event_log.import_file(story.ledger.engine, story.ledger.events_table, path, held, public)
    assert story.ledger.count_events() == before


def test_leaves_are_recomputed_exactly_whatever_a_stored_topic_holds(
    story: Story, superuser: Superuser, database_url: str
) -> None:
    """The recomputation (on PostgreSQL the leaf data built and hashed by the server) writes
    a topic as the canonical encoding does: one with a tab, a newline, a backslash, a quote,
    DEL or Vietnamese gives the leaf ``leaf_of`` gives it (``test_verify_speed_paths`` has
    more such topics, and the worker processes of SQLite)."""
    for position, topic in enumerate(['a\tb\\c\nd"e', "tên\\x41\r\x7f"], start=2):
        superuser.run("UPDATE ledger_events SET topic = :t WHERE id = :p", t=topic, p=position)
    with story.ledger.engine.connect() as connection:
        count, roots, gap = verify_module._recompute(story.ledger, connection, {3})
    leaves = leaves_of(database_url)
    assert (count, gap) == (len(leaves), None)
    assert roots[count] == naive_root(leaves)
    assert roots[3] == naive_root(leaves[:3])
