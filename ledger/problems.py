"""What a check finds, as data: one :class:`Problem` per thing found wrong.

Checks do not raise on what they find; they return a list of problems, like beancount's
``validation.py``, and the caller shows them. Three checks make them:

- the verification of the log (:mod:`ledger.verification`): ``source`` is ``"log"``, the
  problem is at a ``position`` of the log (or at none: a checkpoint's), maybe about a
  ``record_id``; ``ledger verify`` prints :meth:`Problem.line`, and :meth:`Problem.to_json`
  is a problem in the answer of ``GET /api/audit/verify`` and ``ledger verify --json``;
- the whole-ledger invariants (:mod:`ledger.checks`): ``source`` is the kind of record
  (``budget_line``, ``application``, ``activity``), ``record_id`` the record;
- the reconciliation of the read models (:mod:`projections.check`): ``source`` is the
  projection, ``where`` the key of the row (or a table, a year, a position).

``ledger projections check`` prints the last two, ``str(problem)`` each.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Problem(NamedTuple):
    """One thing found wrong: in what, what kind of wrong, where, and what exactly."""

    #: what it was found in: ``"log"``, a projection, a kind of record
    source: str
    #: what is wrong, in a word or a few an inspector can act on (``altered``, ``mismatch``)
    kind: str
    #: where in the source, in words: ``"position 7"``, a row's key, ``"record <id>"``
    where: str
    #: what exactly, in words
    detail: str
    #: the position in the log, where the problem is at one (a verification's)
    position: int | None = None
    #: the record (aggregate) it is about, if one
    record_id: str | None = None

    def __str__(self) -> str:
        """``{source}: {kind} at {where}: {detail}``: one line of a list of many sources
        (``ledger projections check``)."""
        return f"{self.source}: {self.kind} at {self.where}: {self.detail}"

    def line(self) -> str:
        """``{kind}: {where} (record {record_id}): {detail}``: one line of a list of one
        source (``ledger verify``, the log's)."""
        record = f" (record {self.record_id})" if self.record_id else ""
        return f"{self.kind}: {self.where}{record}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        """``{kind, position, record_id, detail}``: a problem of the log as the HTTP API and
        ``ledger verify --json`` answer it."""
        return {
            "kind": self.kind,
            "position": self.position,
            "record_id": self.record_id,
            "detail": self.detail,
        }
