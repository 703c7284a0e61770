"""The inspectors' endpoints (``/api/audit/…``): the public key, signed checkpoints, inclusion
and consistency proofs, verification. Thin: each reads or calls :mod:`projections.merkle`,
:mod:`projections.checkpoints` and :mod:`projections.verify`.

Proofs are read from the Merkle tree projection; a proof asked for a tree size beyond what
the tree holds first brings the tree up to the head of the log.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.answers import Out
from api.read_side import ReadSide
from ledger import checkpoint as cp
from ledger.errors import NotFound, ValidationFailed
from ledger.messages import Message
from projections import checkpoints
from projections import merkle as tree
from projections.merkle import NAME as TREE
from projections.projector import Projector
from projections.verify import verify

# -- query parameters ------------------------------------------------------------------------


class InclusionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    position: int = Field(
        ge=1,
        description="global position of the event (leaf index + 1); at most tree_size "
        "(refused, 422), and within the log (else 404)",
    )
    tree_size: int | None = Field(
        default=None,
        ge=1,
        description="size of the tree to prove against (default: all); at least position, "
        "within the log (else 404)",
    )


class ConsistencyQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: int = Field(ge=1, description="the older tree size: at most second (refused, 422)")
    second: int = Field(ge=1, description="the newer tree size: within the log (else 404)")


# -- answers ---------------------------------------------------------------------------------


class PublicKeyOut(Out):
    key_id: str = Field(description="C2SP signed-note key hash: 8 hex digits")
    algorithm: str = Field(description='always "Ed25519"')
    public_key: str = Field(description="standard base64 of the 32 raw public-key bytes")


class CheckpointOut(Out):
    tree_size: int
    root_hash: str = Field(description="lowercase hex of the RFC 9162 root hash")
    origin: str
    body: str = Field(description="C2SP tlog-checkpoint body: origin, size, base64 root")
    signature: str = Field(description="standard base64 of the Ed25519 signature of body")
    key_id: str
    created_at: str = Field(description="UTC, ISO 8601")


class InclusionOut(Out):
    position: int
    leaf_index: int = Field(description="position − 1")
    tree_size: int
    leaf_hash: str = Field(description="lowercase hex")
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 inclusion proof, lowercase hex")


class ConsistencyOut(Out):
    first: int
    second: int
    proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, lowercase hex")


class ProblemOut(Out):
    kind: str = Field(
        description="altered, missing, inserted, reordered, bad_signature or "
        "inconsistent_checkpoint"
    )
    position: int | None
    record_id: str | None
    detail: str


class VerificationOut(Out):
    ok: bool
    checked: int = Field(description="events whose leaves were recomputed")
    root_hash: str = Field(description="root of the log as recomputed, lowercase hex")
    problems: list[ProblemOut]


# -- readers ---------------------------------------------------------------------------------


def public_key(read_side: ReadSide, _: Any, __: Any, ___: Any) -> dict[str, str]:
    return cp.public_key_info(cp.load_key(url=read_side.ledger.url))


def make_checkpoint(read_side: ReadSide, _: Any, __: Any, ___: Any) -> dict[str, Any]:
    key = cp.load_key(url=read_side.ledger.url)
    return checkpoints.make(read_side.projector, key).to_json()


def list_checkpoints(read_side: ReadSide, _: Any, __: Any, ___: Any) -> list[dict[str, Any]]:
    with read_side.ledger.engine.connect() as connection:
        return [c.to_json() for c in checkpoints.listed(connection)]


def _tree_of_at_least(projector: Projector, size: int) -> None:
    """Bring the tree to ``size`` leaves, or refuse a size the log does not have (404) or
    that a hole not recorded keeps the tree from (503 ``log_has_hole``)."""
    head = projector.head()
    if size > head:
        raise NotFound(
            Message(
                "The log holds {head:,} events; there is no tree of {size:,}.", head=head, size=size
            )
        )
    checkpoints.reach(projector, size)


def inclusion_proof(read_side: ReadSide, _: Any, q: InclusionQuery, __: Any) -> dict[str, Any]:
    projector = read_side.projector
    size = q.tree_size if q.tree_size is not None else max(projector.head(), 1)
    if q.tree_size is None and q.position > size:
        raise NotFound(
            Message(
                "The log holds {size:,} events; there is no event at {position:,}.",
                size=size,
                position=q.position,
            )
        )
    if q.position > size:
        raise ValidationFailed(
            Message(
                "position {position:,} is not in a tree of {size:,} events (tree_size)",
                position=q.position,
                size=size,
            )
        )
    _tree_of_at_least(projector, size)
    with projector.reading(TREE) as (connection, tables, _held):
        leaf, path = tree.inclusion(connection, tables, q.position, size)
    return {
        "position": q.position,
        "leaf_index": q.position - 1,
        "tree_size": size,
        "leaf_hash": leaf.hex(),
        "audit_path": [p.hex() for p in path],
    }


def consistency_proof(read_side: ReadSide, _: Any, q: ConsistencyQuery, __: Any) -> dict[str, Any]:
    if q.first > q.second:
        raise ValidationFailed(
            Message(
                "first ({first:,}) must not be larger than second ({second:,})",
                first=q.first,
                second=q.second,
            )
        )
    projector = read_side.projector
    _tree_of_at_least(projector, q.second)
    with projector.reading(TREE) as (connection, tables, _held):
        proof = tree.consistency(connection, tables, q.first, q.second)
    return {"first": q.first, "second": q.second, "proof": [p.hex() for p in proof]}


def verification(read_side: ReadSide, _: Any, __: Any, ___: Any) -> dict[str, Any]:
    own = cp.own_public_key(url=read_side.ledger.url)
    return verify(read_side.projector, public_key=own).to_json()
