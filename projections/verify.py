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

import contextlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.service import Ledger
from ledger.verification import Problems, Verification, check_checkpoints
from projections import checkpoints as kept
from projections.merkle import LEAVES
from projections.merkle import NAME as TREE
from projections.merkle import root as stored_root
from projections.runner import Projector

log = logging.getLogger(__name__)

FETCH = 20_000
_cursors = itertools.count()


def verify(
    projector: Projector,
    given: Sequence[Checkpoint] = (),
    public_key: bytes | None = None,
) -> Verification:
    """Recompute every leaf from the events table; compare with the stored tree, the stored
    checkpoints and the ``given`` ones (signatures checked with ``public_key``)."""
    with contextlib.suppress(Exception):  # a log the tree cannot fold is what we look into
        projector.catch_up(TREE)
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


def _events(ledger: Ledger, connection: Connection) -> Iterator[tuple[Any, ...]]:
    """(position, originator_id, version, topic, state) of every stored event, in order,
    streamed through the driver's cursor (a server-side one on PostgreSQL)."""
    t = ledger.events_table
    query = select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
    sql = str(query.order_by(t.c.id).compile(dialect=connection.dialect))
    raw: Any = connection.connection.dbapi_connection
    postgres = connection.dialect.name == "postgresql"
    cursor = raw.cursor(f"verify_events_{next(_cursors)}") if postgres else raw.cursor()
    if postgres:
        cursor.itersize = FETCH
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(FETCH):
            yield from rows
    finally:
        cursor.close()


def _recompute(
    ledger: Ledger, connection: Connection, sizes: set[int]
) -> tuple[int, dict[int, bytes], int | None]:
    """One pass: how many events there are, the log's root at each of ``sizes`` (and at the
    end), and the first position the log skips (None if none)."""
    hasher = merkle.LeafHasher()
    frontier = merkle.Frontier()
    push, root = frontier.push, frontier.root
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT} if 0 in sizes else {}
    gap = None
    count = 0
    for position, originator_id, version, topic, state in _events(ledger, connection):
        count += 1
        if position != count and gap is None:
            gap = count
        push(hasher(originator_id, version, position, state, topic))
        if count in sizes:
            roots[count] = root()
    roots[count] = root()
    return count, roots, gap


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
                for p, o, v, _, _ in _events(ledger, connection)
            }
        return log_keys.get(key)

    tree = connection.execute(
        select(
            leaves.c.position, leaves.c.originator_id, leaves.c.originator_version,
            leaves.c.leaf_hash,
        ).order_by(leaves.c.position)
    ).all()  # fmt: skip
    stored = {int(p): (o, int(v), h) for p, o, v, h in tree}
    events = _events(ledger, connection)
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
