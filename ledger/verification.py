"""What a verification of the log finds, and the checks against checkpoints that every
verifier shares (the database's, the offline one, the import's).

Problems come back as data (:class:`ledger.problems.Problem`, source ``"log"``): one per
position or checkpoint, with a kind an inspector can act on:

- ``altered``: the event at this position is the one the tree holds, but its stored bytes
  have changed;
- ``missing``: the tree holds an event at this position, and the log no longer does;
- ``inserted``: the log holds an event at this position that the tree never held;
- ``reordered``: the event is in the log, but at another position than the tree holds it;
- ``bad_signature``: a checkpoint's signature is not the ledger key's;
- ``inconsistent_checkpoint``: the log's root at a checkpoint's size is not its root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.checkpoint import Checkpoint, key_id
from ledger.problems import Problem

KINDS = ("altered", "missing", "inserted", "reordered", "bad_signature", "inconsistent_checkpoint")

#: problems listed in one answer; the last one listed says how many more there are
PROBLEMS_LISTED = 200


@dataclass
class Verification:
    """``{ok, checked, root_hash, problems}``: how many events were recomputed, the root of
    the log they make, and what is wrong (nothing, when ``ok``)."""

    checked: int
    root_hash: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_position(self) -> int | None:
        positions = [p.position for p in self.problems if p.position is not None]
        return min(positions) if positions else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "root_hash": self.root_hash,
            "problems": [p.to_json() for p in self.problems],
        }


class Problems:
    """A bounded list of problems, kept in the order found, capped at ``limit``."""

    def __init__(self, limit: int = PROBLEMS_LISTED) -> None:
        self.limit = limit
        self.found: list[Problem] = []
        self.more = 0

    def add(self, kind: str, position: int | None, record_id: Any, detail: str) -> None:
        if len(self.found) < self.limit:
            where = f"position {position}" if position is not None else "log"
            record = str(record_id) if record_id is not None else None
            self.found.append(Problem("log", kind, where, detail, position, record))
        else:
            self.more += 1

    @property
    def full(self) -> bool:
        return len(self.found) >= self.limit

    def listed(self) -> list[Problem]:
        problems = sorted(
            self.found, key=lambda p: (p.position is None, p.position or 0, KINDS.index(p.kind))
        )
        if self.more:
            last = problems[-1]
            problems[-1] = last._replace(
                detail=f"{last.detail} (and {self.more:,} more problems not listed)"
            )
        return problems


def check_checkpoints(
    problems: Problems,
    checkpoints: Iterable[Checkpoint],
    roots: dict[int, bytes],
    size: int,
    public_key: bytes | None,
    first_bad: int | None = None,
    signatures: bool = True,
) -> None:
    """Check each checkpoint's signature against ``public_key`` (unless ``signatures`` is
    false) and its root against ``roots[tree_size]`` (the log's recomputed roots; ``size``:
    how many events there are)."""
    for checkpoint in checkpoints:
        label = f"checkpoint of {checkpoint.tree_size:,} events made {checkpoint.created_at}"
        if not signatures:
            pass
        elif public_key is None:
            problems.add("bad_signature", None, None, f"{label}: no public key to check it with")
        elif checkpoint.key_id != key_id(public_key, checkpoint.origin):
            problems.add(
                "bad_signature",
                None,
                None,
                f"{label}: signed with key {checkpoint.key_id}, not with the ledger's key "
                f"{key_id(public_key, checkpoint.origin)}",
            )
        elif not checkpoint.signed_by(public_key):
            problems.add("bad_signature", None, None, f"{label}: the signature does not match")
        if checkpoint.tree_size > size:
            problems.add(
                "inconsistent_checkpoint",
                None,
                None,
                f"{label}: it covers {checkpoint.tree_size:,} events, the log holds {size:,}",
            )
            continue
        root = roots.get(checkpoint.tree_size)
        if root is not None and root != checkpoint.root:
            where = (
                first_bad if first_bad is not None and first_bad <= checkpoint.tree_size else None
            )
            problems.add(
                "inconsistent_checkpoint",
                where,
                None,
                f"{label}: the log's root at that size is {root.hex()}, the checkpoint's is "
                f"{checkpoint.root_hash}",
            )


def sizes_of(checkpoints: Sequence[Checkpoint]) -> set[int]:
    return {c.tree_size for c in checkpoints}
