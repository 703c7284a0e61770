"""BudgetLine: the money of one budget year × project × funding source.

Assigned by decision (giao dự toán) and adjusted; committed by approvals, released by
cancellations and settlements, disbursed by payments, recovered by recoveries. Invariant 3:
a city-budget commitment must fit ``assigned − committed``. The line is saved in the same
transaction as the application that commits it, so two approvals racing for the last money
collide on the line's version: one wins, the other is retried and refused.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from ledger import catalogue
from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.commands import FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR
from ledger.errors import InsufficientBudget


def budget_line_id(budget_year: int, project: str, source: str) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"budget-line/{budget_year}/{project}/{source}")


#: every budget line the ledger can hold: id -> (budget year, project, source). Events after
#: a line's first name it only by id; this is how readers of the log place them.
BUDGET_LINES: dict[UUID, tuple[int, str, str]] = {
    budget_line_id(year, project, source): (year, project, source)
    for year in range(FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR + 1)
    for project in catalogue.PROJECTS
    for source in catalogue.SOURCES
}


def format_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " ₫"


class BudgetLine(LedgerAggregate):
    budget_year: int
    project: str
    source: str
    assigned: int
    committed: int
    disbursed: int
    recovered: int

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Assigned(LedgerAggregate.Created):
        budget_year: int
        project: str
        source: str
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.budget_year = self.budget_year
            aggregate.project = self.project
            aggregate.source = self.source
            aggregate.assigned = self.amount
            aggregate.committed = 0
            aggregate.disbursed = 0
            aggregate.recovered = 0

    class Adjusted(LedgerAggregate.Event):
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.assigned += self.amount

    class Committed(LedgerAggregate.Event):
        record_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.committed += self.amount

    class Released(LedgerAggregate.Event):
        record_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.committed -= self.amount

    class Disbursed(LedgerAggregate.Event):
        record_id: UUID
        disbursement_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.disbursed += self.amount

    class DisbursementReversed(LedgerAggregate.Event):
        record_id: UUID
        disbursement_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.disbursed -= self.amount

    class Recovered(LedgerAggregate.Event):
        record_id: UUID
        recovery_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.recovered += self.amount

    @property
    def available(self) -> int:
        return self.assigned - self.committed

    @classmethod
    def assign(
        cls, budget_year: int, project: str, source: str, amount: int, meta: Meta
    ) -> BudgetLine:
        return cls._create(
            cls.Assigned,
            id=budget_line_id(budget_year, project, source),
            budget_year=budget_year,
            project=project,
            source=source,
            amount=amount,
            **meta.fields(),
        )

    def adjust(self, amount: int, meta: Meta) -> None:
        self.trigger_event(self.Adjusted, amount=amount, **meta.fields())

    def check_room(self, amount: int) -> None:
        if amount > self.available:
            raise InsufficientBudget(
                f"The {self.source} line of {self.project} for {self.budget_year} has "
                f"{format_vnd(self.available)} uncommitted; {format_vnd(amount)} was asked."
            )

    def commit(self, record_id: UUID, amount: int, meta: Meta) -> None:
        self.check_room(amount)
        self.trigger_event(self.Committed, record_id=record_id, amount=amount, **meta.fields())

    def release(self, record_id: UUID, amount: int, meta: Meta) -> None:
        if amount > 0:
            self.trigger_event(self.Released, record_id=record_id, amount=amount, **meta.fields())

    def disburse(self, record_id: UUID, disbursement_id: UUID, amount: int, meta: Meta) -> None:
        self.trigger_event(
            self.Disbursed,
            record_id=record_id,
            disbursement_id=disbursement_id,
            amount=amount,
            **meta.fields(),
        )

    def reverse_disbursement(
        self, record_id: UUID, disbursement_id: UUID, amount: int, meta: Meta
    ) -> None:
        self.trigger_event(
            self.DisbursementReversed,
            record_id=record_id,
            disbursement_id=disbursement_id,
            amount=amount,
            **meta.fields(),
        )

    def recover(self, record_id: UUID, recovery_id: UUID, amount: int, meta: Meta) -> None:
        self.trigger_event(
            self.Recovered,
            record_id=record_id,
            recovery_id=recovery_id,
            amount=amount,
            **meta.fields(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "budget_year": self.budget_year,
            "project": self.project,
            "source": self.source,
            "assigned": self.assigned,
            "committed": self.committed,
            "disbursed": self.disbursed,
            "recovered": self.recovered,
            "available": self.available,
        }
