"""ProgramActivity: work a department runs itself (training, communication, testing
equipment, building standards), approved with a city-budget allocation, spent against it by
voucher and completed with a report. Approval commits the budget line of its year and
project; completion releases what was not spent.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from ledger.base import LedgerAggregate, Meta
from ledger.budget_line import format_vnd
from ledger.commands import ApproveActivity
from ledger.errors import ExceedsApproved, InvalidTransition

APPROVED = "approved"
COMPLETED = "completed"


class ProgramActivity(LedgerAggregate):
    department: str
    project: str
    kind: str
    title: str
    budget_year: int
    budget: int
    spent: int
    status: str

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Approved(LedgerAggregate.Created):
        department_code: str
        project: str
        kind: str
        title: str
        budget_year: int
        budget: int

        def apply(self, aggregate: Any) -> None:
            aggregate.department = self.department_code
            aggregate.project = self.project
            aggregate.kind = self.kind
            aggregate.title = self.title
            aggregate.budget_year = self.budget_year
            aggregate.budget = self.budget
            aggregate.spent = 0
            aggregate.status = APPROVED

    class Spent(LedgerAggregate.Event):
        spending_id: UUID
        amount: int
        voucher_no: str

        def apply(self, aggregate: Any) -> None:
            aggregate.spent += self.amount

    class Completed(LedgerAggregate.Event):
        report: str
        released: int

        def apply(self, aggregate: Any) -> None:
            aggregate.status = COMPLETED

    @classmethod
    def approve(cls, cmd: ApproveActivity, meta: Meta) -> ProgramActivity:
        return cls._create(
            cls.Approved,
            id=uuid4(),
            department_code=cmd.department,
            project=cmd.project,
            kind=cmd.kind,
            title=cmd.title,
            budget_year=cmd.budget_year,
            budget=cmd.budget,
            **meta.fields(),
        )

    def check_open(self) -> None:
        if self.status != APPROVED:
            raise InvalidTransition(f"Activity {self.title!r} is already {self.status}.")

    def spend(self, amount: int, voucher_no: str, meta: Meta) -> UUID:
        self.check_open()
        if self.spent + amount > self.budget:
            raise ExceedsApproved(
                f"Spending {format_vnd(amount)} would pass the activity's budget of "
                f"{format_vnd(self.budget)}: {format_vnd(self.budget - self.spent)} remains."
            )
        spending_id = uuid4()
        self.trigger_event(
            self.Spent,
            spending_id=spending_id,
            amount=amount,
            voucher_no=voucher_no,
            **meta.fields(),
        )
        return spending_id

    def complete(self, report: str, meta: Meta) -> int:
        self.check_open()
        released = self.budget - self.spent
        self.trigger_event(self.Completed, report=report, released=released, **meta.fields())
        return released

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "department": self.department,
            "project": self.project,
            "kind": self.kind,
            "title": self.title,
            "budget_year": self.budget_year,
            "budget": self.budget,
            "spent": self.spent,
            "status": self.status,
            "version": self.version,
        }
