"""ProgramActivity: work a department runs itself (training, communication, testing
equipment, building standards), approved with a city-budget allocation, spent against it by
voucher and completed with a report. Approval commits the budget line of its year, project
and channel; completion releases what was not spent. A year close carries what is committed
and unspent to the next year's line, which it draws on from then on.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from ledger import catalogue
from ledger.base import LedgerAggregate, Meta
from ledger.budget_line import format_vnd
from ledger.commands import ApproveActivity
from ledger.errors import ExceedsApproved, InvalidTransition
from ledger.messages import Message, Terms

APPROVED = "approved"
COMPLETED = "completed"
STATUS = Terms("activity status", (APPROVED, COMPLETED))


class ProgramActivity(LedgerAggregate):
    department: str
    project: str
    kind: str
    title: str
    budget_year: int
    channel: str
    #: the budget year whose line holds the commitment now (see SupportApplication)
    drawing_year: int
    budget: int
    spent: int
    status: str

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Approved(LedgerAggregate.Created):
        class_version = 2
        department_code: str
        project: str
        kind: str
        title: str
        budget_year: int
        budget: int
        channel: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Activities approved before channels existed drew on the default channel."""
            state["channel"] = catalogue.DEFAULT_CHANNEL

        def apply(self, aggregate: Any) -> None:
            aggregate.department = self.department_code
            aggregate.project = self.project
            aggregate.kind = self.kind
            aggregate.title = self.title
            aggregate.budget_year = aggregate.drawing_year = self.budget_year
            aggregate.channel = self.channel
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

    class CommitmentCarried(LedgerAggregate.Event):
        """At the close of ``from_year``: the unspent commitment moved to ``to_year``'s line."""

        from_year: int
        to_year: int
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.drawing_year = self.to_year

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
            channel=cmd.channel,
            **meta.fields(),
        )

    def check_open(self) -> None:
        if self.status != APPROVED:
            raise InvalidTransition(
                Message(
                    "Activity {title!r} is already {status}.",
                    title=self.title,
                    status=STATUS(self.status),
                )
            )

    def spend(self, amount: int, voucher_no: str, meta: Meta) -> UUID:
        self.check_open()
        if self.spent + amount > self.budget:
            raise ExceedsApproved(
                Message(
                    "Spending {amount} would pass the activity's budget of {budget}: {room} "
                    "remains.",
                    amount=format_vnd(amount),
                    budget=format_vnd(self.budget),
                    room=format_vnd(self.budget - self.spent),
                )
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

    def carry(self, to_year: int, amount: int, meta: Meta) -> None:
        """Record that the close of the drawing year carried ``amount`` to ``to_year``."""
        self.trigger_event(
            self.CommitmentCarried,
            from_year=self.drawing_year,
            to_year=to_year,
            amount=amount,
            **meta.fields(),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "department": self.department,
            "project": self.project,
            "kind": self.kind,
            "title": self.title,
            "budget_year": self.budget_year,
            "channel": self.channel,
            "drawing_year": self.drawing_year,
            "budget": self.budget,
            "spent": self.spent,
            "status": self.status,
            "version": self.version,
        }
