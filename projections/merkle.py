"""The Merkle tree over the event log (RFC 9162), kept incrementally like any projection.

Leaf ``i`` is the stored event at position ``i + 1`` (:mod:`ledger.merkle` says how it is
hashed). The fold appends each event's leaf and every complete subtree the leaf finishes,
so the tree of any size up to the projection's position is a handful of stored nodes away:
the root of size ``n`` is the complete subtrees of ``n``'s binary decomposition, and every
range an inclusion or consistency proof visits is made of complete subtrees too.

Tables: ``merkle_leaves`` (one row per event: its position, whose event it is, its leaf
hash; a recorded hole, :mod:`ledger.log_gaps`, is a leaf too, with no event: id ``""``,
version 0) and ``merkle_nodes`` (every complete subtree of two or more leaves: ``level`` ≥ 1,
``node_index`` i; it covers leaves ``[i·2^level, (i+1)·2^level)``). Hashes are lowercase hex.
The projection's position is the tree size; positions run 1, 2, 3, … without gaps (the
database sees to it, migration 0005), and a hole that is not recorded stops the fold with
an error rather than skip a leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, func, select, tuple_

from ledger import merkle
from ledger.errors import LedgerError
from ledger.log_gaps import RecordedGap
from ledger.messages import Message
from projections.base import BIGINT, Envelope, Projection, TableDef, as_uuid

NAME = "merkle"

LEAVES = TableDef(
    "merkle_leaves",
    ("position",),
    lambda name, md: Table(
        name,
        md,
        Column("position", BIGINT, primary_key=True, autoincrement=False),
        Column("originator_id", String(36), nullable=False),
        Column("originator_version", BIGINT, nullable=False),
        Column("leaf_hash", String(64), nullable=False),
    ),
)

NODES = TableDef(
    "merkle_nodes",
    ("level", "node_index"),
    lambda name, md: Table(
        name,
        md,
        Column("level", Integer, primary_key=True, autoincrement=False),
        Column("node_index", BIGINT, primary_key=True, autoincrement=False),
        Column("hash", String(64), nullable=False),
    ),
)


class GapInLog(LedgerError):
    """The log skips a position that is not recorded as a hole: the tree cannot go on
    without a leaf, and cannot tell a hole left by a failed write from a deleted event.
    Not the caller's mistake: the server cannot answer for the log past it (503) until an
    operator has looked (``ledger verify``, ``ledger db record-gaps``)."""

    code = "log_has_hole"
    title = Message("The log skips a position")

    def __init__(self, position: int) -> None:
        super().__init__(
            Message(
                "the log skips position {position:,}, which is not recorded as a hole: an "
                "event deleted, or a hole a failed write left before migration 0005. The "
                "Merkle tree stops at {size:,} events; `ledger verify` names what is wrong, "
                "and `ledger db record-gaps` records a hole that never held an event",
                position=position,
                size=position - 1,
            )
        )
        self.position = position


def stored_bytes(state: Any) -> bytes:
    """The state exactly as stored: PostgreSQL reads hand it over as text (``convert_from``
    of valid UTF-8, which gives back the same bytes), SQLite as bytes."""
    return state.encode() if isinstance(state, str) else bytes(state)


class MerkleTree(Projection):
    NAME = NAME
    TABLES = (LEAVES, NODES)
    #: the live tree keeps the nodes of every size: a past tree is read from it, not replayed
    SNAPSHOTS = False

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        super().__init__(tables, rebuilding=rebuilding)
        self.frontier: merkle.Frontier | None = merkle.Frontier() if rebuilding else None

    def fold(self, envelopes: Iterable[Envelope]) -> None:
        leaves = self.rows(LEAVES.name).appended
        nodes = self.rows(NODES.name).appended
        frontier = self.frontier
        for envelope in envelopes:
            position = envelope.position
            if frontier is None:
                frontier = self.frontier = self._load_frontier()
            if position != frontier.size + 1:
                raise GapInLog(frontier.size + 1)
            if envelope.stored is None:  # a recorded hole: a leaf of its own
                gap: RecordedGap = envelope.event
                uid, version, leaf = "", 0, gap.leaf_hash()
            else:
                originator_id, version, topic, state = envelope.stored
                uid = str(as_uuid(originator_id))
                leaf = merkle.event_leaf_hash(uid, version, position, stored_bytes(state), topic)
            for level, index, digest in frontier.append(leaf):
                if level == 0:
                    leaves.append(
                        {
                            "position": position,
                            "originator_id": uid,
                            "originator_version": version,
                            "leaf_hash": digest.hex(),
                        }
                    )
                else:
                    nodes.append({"level": level, "node_index": index, "hash": digest.hex()})

    def process_event(self, event: Any, position: int) -> None:  # pragma: no cover
        raise NotImplementedError("the Merkle tree folds stored rows, see fold()")

    def _load_frontier(self) -> merkle.Frontier:
        """The stored tree's right edge (its size: its last leaf's position)."""
        connection = self.rows(LEAVES.name).connection
        assert connection is not None, "no connection to read the tree's right edge from"
        leaves = self.tables[LEAVES.name]
        size = int(connection.execute(select(func.max(leaves.c.position))).scalar() or 0)
        if size == 0:
            return merkle.Frontier()
        node = NodeReader(connection, self.tables)
        edge = merkle.Frontier.edge(size)
        node.prefetch(edge)
        return merkle.Frontier(size, [node(level, index) for level, index in edge])


class NodeReader:
    """``node(level, index)`` of a stored tree: the hash of one complete subtree, read from
    the tree's tables (and kept, since a proof asks for the same nodes more than once)."""

    def __init__(self, connection: Connection, tables: dict[str, Table]) -> None:
        self.connection = connection
        self.leaves = tables[LEAVES.name]
        self.nodes = tables[NODES.name]
        self.known: dict[tuple[int, int], bytes] = {}

    def prefetch(self, keys: Sequence[tuple[int, int]]) -> None:
        """Read many nodes in two queries."""
        wanted = [key for key in keys if key not in self.known]
        positions = [index + 1 for level, index in wanted if level == 0]
        inner = [(level, index) for level, index in wanted if level > 0]
        if positions:
            leaves = self.leaves
            for position, digest in self.connection.execute(
                select(leaves.c.position, leaves.c.leaf_hash).where(
                    leaves.c.position.in_(positions)
                )
            ):
                self.known[0, int(position) - 1] = bytes.fromhex(digest)
        if inner:
            nodes = self.nodes
            for level, index, digest in self.connection.execute(
                select(nodes.c.level, nodes.c.node_index, nodes.c.hash).where(
                    tuple_(nodes.c.level, nodes.c.node_index).in_(inner)
                )
            ):
                self.known[int(level), int(index)] = bytes.fromhex(digest)

    def __call__(self, level: int, index: int) -> bytes:
        found = self.known.get((level, index))
        if found is None:
            self.prefetch([(level, index)])
            found = self.known.get((level, index))
            if found is None:
                raise LookupError(f"the stored tree has no node at level {level}, {index}")
        return found

    def subtree(self, start: int, end: int) -> bytes:
        return merkle.range_hash(start, end, self)


def _ranges_of(proof: Callable[[merkle.Subtree], list[bytes]]) -> list[tuple[int, int]]:
    """The (level, index) nodes a proof will read, found by running it on dummy hashes."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return b"\x00" * 32

    proof(lambda start, end: merkle.range_hash(start, end, record))
    return wanted


def root(connection: Connection, tables: dict[str, Table], size: int) -> bytes:
    """The root hash of the stored tree of ``size`` leaves."""
    node = NodeReader(connection, tables)
    node.prefetch(merkle.Frontier.edge(size))
    return node.subtree(0, size)


def inclusion(
    connection: Connection, tables: dict[str, Table], position: int, size: int
) -> tuple[bytes, list[bytes]]:
    """The leaf hash of the event at ``position`` and its audit path in the tree of
    ``size`` leaves."""
    node = NodeReader(connection, tables)

    def proof(subtree: merkle.Subtree) -> list[bytes]:
        return merkle.inclusion_proof(position - 1, size, subtree)

    node.prefetch([(0, position - 1), *_ranges_of(proof)])
    return node(0, position - 1), proof(node.subtree)


def consistency(
    connection: Connection, tables: dict[str, Table], first: int, second: int
) -> list[bytes]:
    """The consistency proof between the stored trees of ``first`` and ``second`` leaves."""
    node = NodeReader(connection, tables)

    def proof(subtree: merkle.Subtree) -> list[bytes]:
        return merkle.consistency_proof(first, second, subtree)

    node.prefetch(_ranges_of(proof))
    return proof(node.subtree)
