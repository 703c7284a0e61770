"""Signed checkpoints of the Merkle tree: made, kept (append-only) and listed.

``make`` brings the tree up to the head of the log, signs its size and root with the
ledger's key (:mod:`ledger.checkpoint`) and keeps the checkpoint. Checkpoints are what an
inspector takes away: later, ``ledger verify`` (or the offline verifier) proves against
each of them that the log was only appended to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, Text, insert, select

from ledger import checkpoint as cp
from projections.base import BIGINT
from projections.merkle import NAME as TREE
from projections.merkle import root
from projections.projector import Projector

metadata = MetaData()

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", BIGINT, primary_key=True, autoincrement=True),
    Column("tree_size", BIGINT, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("origin", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("created_at", DateTime, nullable=False),  # UTC, stored without its zone
    sqlite_autoincrement=True,
)


def _from_row(row: Any) -> cp.Checkpoint:
    created = row.created_at.replace(tzinfo=dt.UTC)
    return cp.Checkpoint(
        tree_size=int(row.tree_size),
        root_hash=row.root_hash,
        origin=row.origin,
        body=row.body,
        signature=row.signature,
        key_id=row.key_id,
        created_at=created.isoformat().replace("+00:00", "Z"),
    )


def listed(connection: Connection) -> list[cp.Checkpoint]:
    """Every checkpoint kept, oldest first."""
    rows = connection.execute(select(checkpoints).order_by(checkpoints.c.id))
    return [_from_row(row) for row in rows]


def latest(connection: Connection, at_most: int | None = None) -> cp.Checkpoint | None:
    """The newest checkpoint of at most ``at_most`` events (any size by default): the one an
    export of the first ``at_most`` events can be checked against."""
    query = select(checkpoints).order_by(checkpoints.c.tree_size.desc(), checkpoints.c.id.desc())
    if at_most is not None:
        query = query.where(checkpoints.c.tree_size <= at_most)
    row = connection.execute(query.limit(1)).first()
    return _from_row(row) if row is not None else None


def keep(connection: Connection, checkpoint: cp.Checkpoint) -> None:
    created = dt.datetime.fromisoformat(checkpoint.created_at.replace("Z", "+00:00"))
    connection.execute(
        insert(checkpoints).values(
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash,
            origin=checkpoint.origin,
            body=checkpoint.body,
            signature=checkpoint.signature,
            key_id=checkpoint.key_id,
            created_at=created.astimezone(dt.UTC).replace(tzinfo=None),
        )
    )


def catch_up_tree(projector: Projector, size: int | None = None) -> int:
    """Fold into the Merkle tree what it has not folded yet (only if it holds fewer than
    ``size`` events, when given) and answer how many events it holds. A log the tree cannot
    fold (a gap) leaves it where it is; the projector records why in its status."""
    if size is None or projector.position(TREE) < size:
        with contextlib.suppress(Exception):
            projector.catch_up(TREE)
    return projector.position(TREE)


def reach(projector: Projector, size: int) -> None:
    """Bring the tree to at least ``size`` leaves (at most the head of the log), or raise
    why it cannot (:class:`projections.merkle.GapInLog`: a hole not recorded)."""
    if projector.position(TREE) < size:
        projector.catch_up(TREE)


def root_at(projector: Projector, size: int) -> bytes | None:
    """The root of the log's first ``size`` events by the stored tree (brought up to that
    size first); None when the tree cannot hold that many events."""
    if catch_up_tree(projector, size) < size:
        return None
    with projector.reading(TREE) as (connection, tables, _):
        return root(connection, tables, size)


def make(projector: Projector, key: Ed25519PrivateKey, origin: str | None = None) -> cp.Checkpoint:
    """Sign the tree at the head of the log and keep the checkpoint; refuse
    (:class:`projections.merkle.GapInLog`) rather than sign a tree the log has outgrown."""
    reach(projector, projector.head())
    with projector.reading(TREE) as (connection, tables, size):
        checkpoint = cp.sign(key, size, root(connection, tables, size), origin)
    with projector.engine.begin() as connection:
        keep(connection, checkpoint)
    return checkpoint
