"""What every ledger aggregate and event shares.

Every event carries who did it (actor and the actor's department), the business date written
on the decision or voucher (``effective_date``), the id of the command that produced it and
its references (decision, contract, voucher numbers). The store adds the recorded time (the
event's ``timestamp``, UTC) and the global position.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.access import Actor


@dataclass(frozen=True, slots=True)
class Meta:
    """The common part of every event a command makes."""

    actor: Actor
    command_id: UUID
    effective_date: dt.date
    references: dict[str, str] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {
            "actor": self.actor.user_id,
            "department": self.actor.department,
            "effective_date": self.effective_date,
            "command_id": self.command_id,
            "references": dict(self.references),
        }


@dataclass(frozen=True, slots=True)
class Written:
    """What a successful command answers: the record's id and the last global position."""

    id: UUID
    position: int
    extra: dict[str, Any] = field(default_factory=dict)


class LedgerAggregate(Aggregate):
    """Base of the ledger's aggregates: one common event base, no auto-generated events."""

    class Event(Aggregate.Event):
        actor: str
        department: str
        effective_date: dt.date
        command_id: UUID
        references: dict[str, str]

    class Created(Event, Aggregate.Created):
        pass


#: Namespace for ids derived from natural keys (budget lines, token hashes, unique numbers).
LEDGER_NAMESPACE = UUID("6f1c0c7e-4d1b-5b7a-9a53-6374201012a7")
