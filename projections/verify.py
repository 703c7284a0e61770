"""Verify the event log against its Merkle tree and every checkpoint.

Every leaf is recomputed from the events table as it is stored now. One pass over the
table gives the log's roots at the tree's size and at each checkpoint's size; when the root
at the tree's size is the stored tree's root (and the positions run without a gap), every
leaf is what the tree recorded, and there is nothing to look for. Otherwise a second pass
walks the table beside the tree's leaves, position by position, and names what happened at
each bad position (:mod:`ledger.verification` lists the kinds).

The tree is first brought up to the head of the log, so events appended since it last
folded are in it: appending is what the log allows. What a tree or a checkpoint proves is
that nothing it holds was changed, removed, inserted or moved since.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.event_log import FETCH, stored_events
from ledger.service import Ledger
from ledger.verification import Problems, Verification, check_checkpoints
from projections import checkpoints as kept
from projections.merkle import LEAVES
from projections.merkle import NAME as TREE
from projections.merkle import root as stored_root
from projections.runner import Projector

log = logging.getLogger(__name__)


def verify(
    projector: Projector,
    given: Sequence[Checkpoint] = (),
    public_key: bytes | None = None,
) -> Verification:
    """Recompute every leaf from the events table; compare with the stored tree, the stored
    checkpoints and the ``given`` ones (signatures checked with ``public_key``)."""
    kept.catch_up_tree(projector)  # a log it cannot fold is what is looked into here
    with projector.reading(TREE) as (connection, tables, size):
        every = [*kept.listed(connection), *given]
        wanted = {c.tree_size for c in every} | {size}
        scanned, roots, gap = _recompute(projector.ledger, connection, wanted)
        problems = Problems()
        tree_root = stored_root(connection, tables, size) if size else merkle.EMPTY_ROOT
        if gap is not None or roots.get(size) != tree_root:
            _classify(projector.ledger, connection, tables, size, problems)
            if not problems.found:
                problems.add(
                    "altered", None, None,
                    "the stored tree's inner nodes do not match its leaves; the log matches "
                    "the leaves (rebuild the merkle projection)",
                )  # fmt: skip
        first_bad = min((p.position for p in problems.found if p.position), default=None)
        check_checkpoints(problems, every, roots, scanned, public_key, first_bad)
    return Verification(scanned, roots[scanned].hex(), problems.listed())


def _recompute(
    ledger: Ledger, connection: Connection, sizes: set[int]
) -> tuple[int, dict[int, bytes], int | None]:
    """One pass: how many events there are, the log's root at each of ``sizes`` (and at the
    end), and the first position the log skips (None if none)."""
    tree = _Recomputed(sizes)
    if connection.dialect.name == "postgresql":
        _leaves_by_copy(ledger, connection, tree.take)
    else:
        _leaves_by_cursor(ledger, connection, tree.take)
    tree.roots[tree.count] = tree.frontier.root()
    return tree.count, tree.roots, tree.gap


class _Recomputed:
    """The log's tree as its recomputed leaves arrive, batch by batch, in position order."""

    def __init__(self, sizes: set[int]) -> None:
        self.sizes = sizes
        self.frontier = merkle.Frontier()
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
        self.count = 0
        self.gap: int | None = None

    def take(self, leaves: list[tuple[int, bytes]]) -> None:
        push, sizes, count = self.frontier.push, self.sizes, self.count
        for position, leaf in leaves:
            count += 1
            if position != count and self.gap is None:
                self.gap = count
            push(leaf)
            if count in sizes:
                self.roots[count] = self.frontier.root()
        self.count = count


Take = Callable[[list[tuple[int, bytes]]], None]


def _leaves_by_cursor(ledger: Ledger, connection: Connection, take: Take) -> None:
    """Leaves made here from each stored row (SQLite): :class:`ledger.merkle.LeafHasher`'s
    work inlined, with its caches of ids and topics (one bytes format and one hash a row)."""
    ids: dict[Any, bytes] = {}
    topics: dict[str, bytes] = {}
    b64, sha256 = base64.b64encode, hashlib.sha256
    batch: list[tuple[int, bytes]] = []
    for position, originator_id, version, topic, state in stored_events(
        connection, ledger.events_table
    ):
        oid = ids.get(originator_id)
        if oid is None:
            oid = ids[originator_id] = merkle.canonical_id(originator_id)
        topic_json = topics.get(topic)
        if topic_json is None:
            topic_json = topics[topic] = merkle.topic_json_of(topic)
        data = LEAF % (oid, version, position, b64(state), topic_json)
        batch.append((position, sha256(data).digest()))
        if len(batch) == FETCH:
            take(batch)
            batch = []
    take(batch)


#: ``0x00 ‖ leaf data`` with its five values to fill in (``ledger.merkle.LEAF_DATA``)
LEAF = b"\x00" + merkle.LEAF_DATA
#: the same with every value already text (COPY's output)
LEAF_TEXT = LEAF.replace(b"%d", b"%s")


def _leaves_by_copy(ledger: Ledger, connection: Connection, take: Take) -> None:
    """Leaves made from COPY's text output (PostgreSQL): the server sends each row's id,
    version and canonical UUID as the text the leaf data holds and the state in base64,
    so each leaf is one format and one hash here; COPY streams faster than a cursor."""
    table = ledger.events_table.name
    sql = (
        "COPY (SELECT id, originator_id, originator_version, "
        "translate(encode(state, 'base64'), E'\\n', ''), topic "
        f"FROM {table} ORDER BY id) TO STDOUT"
    )
    topics: dict[bytes, bytes] = {}
    sha256 = hashlib.sha256

    def lines(chunk: list[bytes]) -> None:
        batch = []
        for line in chunk:
            position, oid, version, state, topic = line.split(b"\t")
            topic_json = topics.get(topic)
            if topic_json is None:
                topic_json = topics[topic] = merkle.topic_json_of(_copy_text(topic))
            data = LEAF_TEXT % (oid, version, position, state, topic_json)
            batch.append((int(position), sha256(data).digest()))
        take(batch)

    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.copy_expert(sql, _Lines(lines))
    finally:
        cursor.close()


_COPY_ESCAPES = re.compile(rb"\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")
_COPY_NAMED = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _copy_text(value: bytes) -> str:
    """A text field of COPY's text format, its backslash escapes undone."""

    def undo(match: re.Match[bytes]) -> bytes:
        code = match.group()[1:]
        if code[:1] == b"x":
            return bytes([int(code[1:], 16)])
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _COPY_NAMED.get(code, code)

    return _COPY_ESCAPES.sub(undo, value).decode()


class _Lines(io.RawIOBase):
    """A writable file for ``copy_expert`` that hands over whole lines as they arrive."""

    def __init__(self, handle: Callable[[list[bytes]], None]) -> None:
        self.handle = handle
        self.rest = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        lines = (self.rest + bytes(data)).split(b"\n")
        self.rest = lines.pop()
        if lines:
            self.handle(lines)
        return len(data)


def _classify(
    ledger: Ledger,
    connection: Connection,
    tables: dict[str, Table],
    size: int,
    problems: Problems,
) -> None:
    """Walk the log beside the tree's leaves and name what is wrong at each position."""
    leaves = tables[LEAVES.name]
    hasher = merkle.LeafHasher()
    tree_keys: dict[tuple[str, int], int] | None = None
    log_keys: dict[tuple[str, int], int] | None = None

    def in_tree(key: tuple[str, int]) -> int | None:
        nonlocal tree_keys
        if tree_keys is None:
            query = select(leaves.c.originator_id, leaves.c.originator_version, leaves.c.position)
            tree_keys = {(o, int(v)): int(p) for o, v, p in connection.execute(query)}
        return tree_keys.get(key)

    def in_log(key: tuple[str, int]) -> int | None:
        nonlocal log_keys
        if log_keys is None:
            log_keys = {
                (hasher.canonical_id(o).decode(), int(v)): int(p)
                for p, o, v, _, _ in stored_events(connection, ledger.events_table)
            }
        return log_keys.get(key)

    tree = connection.execute(
        select(
            leaves.c.position, leaves.c.originator_id, leaves.c.originator_version,
            leaves.c.leaf_hash,
        ).order_by(leaves.c.position)
    ).all()  # fmt: skip
    stored = {int(p): (o, int(v), h) for p, o, v, h in tree}
    events = stored_events(connection, ledger.events_table)
    event = next(events, None)
    last = max(size, 0)
    position = 0
    while not problems.full:
        position += 1
        while event is not None and event[0] < position:
            event = next(events, None)  # a duplicate position cannot be stored; defensive
        here = event if event is not None and event[0] == position else None
        leaf = stored.get(position)
        if here is None and leaf is None:
            if event is None and position > last:
                break
            problems.add("missing", position, None, "the log skips this position")
            continue
        if here is not None:
            event = next(events, None)
            key = (hasher.canonical_id(here[1]).decode(), int(here[2]))
            digest = hasher(here[1], here[2], position, here[4], here[3]).hex()
            if leaf is None:
                continue  # beyond the tree (it could not fold past a gap)
            if (leaf[0], leaf[1]) == key:
                if leaf[2] != digest:
                    problems.add(
                        "altered", position, key[0],
                        f"version {key[1]} of {key[0]} is stored with other bytes than the tree "
                        f"recorded (leaf {digest}, the tree's {leaf[2]})",
                    )  # fmt: skip
                continue
            elsewhere = in_tree(key)
            if elsewhere is not None:
                problems.add(
                    "reordered", position, key[0],
                    f"version {key[1]} of {key[0]} is at position {position}; the tree holds "
                    f"it at position {elsewhere}",
                )  # fmt: skip
            else:
                problems.add(
                    "inserted", position, key[0],
                    f"version {key[1]} of {key[0]} is at position {position}; the tree never "
                    "held it",
                )  # fmt: skip
            continue
        assert leaf is not None
        moved = in_log((leaf[0], leaf[1]))
        if moved is not None:
            problems.add(
                "reordered", position, leaf[0],
                f"version {leaf[1]} of {leaf[0]} was at position {position}; the log holds it "
                f"at position {moved}",
            )  # fmt: skip
        else:
            problems.add(
                "missing", position, leaf[0],
                f"version {leaf[1]} of {leaf[0]} is no longer in the log",
            )  # fmt: skip


def verify_ledger(
    ledger: Ledger, given: Sequence[Checkpoint] = (), public_key: bytes | None = None
) -> Verification:
    return verify(Projector(ledger), given, public_key)
