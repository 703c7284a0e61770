"""BudgetLine: the city budget of one budget year × project × channel (giao dự toán).

Only the city budget is assigned as lines; enterprise and other money is counterpart funding,
pledged in approvals and spent as recorded at acceptance, never a line. A line is assigned by
decision, increased and reduced by decisions, committed by approvals and activities, released
by cancellations and settlements, disbursed by payments, recovered by recoveries. At year
close the part committed to records but not yet paid is carried over (chuyển nguồn) with its
commitments to the same line of the next year, which adds it and commits it at once; the rest
is cancelled (hủy dự toán). From then on the records carried draw on the next year's line.

Figures: ``available = assigned + carried_in − committed − cancelled`` (the uncommitted money);
on a closed line ``committed = disbursed − recovered + carried_out`` and ``available = 0``.
Invariant 3: a commitment must fit ``available``; a reduction too. The line is saved in the
same transaction as the record that commits it, so two approvals racing for the last money
collide on the line's version: one wins, the other is retried and refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid5

from ledger import catalogue
from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.commands import FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR
from ledger.errors import InsufficientBudget
from ledger.messages import Message
from ledger.vocabulary import CHANNEL, SOURCE


def budget_line_id(
    budget_year: int,
    project: str,
    source: str = catalogue.CITY_BUDGET,
    channel: str = catalogue.DEFAULT_CHANNEL,
) -> UUID:
    """The line's id, from its natural key. A line of the default channel keeps the id lines
    had before channels existed (so an old log's events land on the same lines)."""
    key = f"budget-line/{budget_year}/{project}/{source}"
    if channel != catalogue.DEFAULT_CHANNEL:
        key = f"{key}/{channel}"
    return uuid5(LEDGER_NAMESPACE, key)


#: every budget line the ledger can hold: id -> (budget year, project, source, channel).
#: Events after a line's first name it only by id; this is how readers of the log place them.
#: Lines of the enterprise and other sources exist only in logs written before they became
#: counterpart funding (their channel reads as the default).
BUDGET_LINES: dict[UUID, tuple[int, str, str, str]] = {
    budget_line_id(year, project, source, channel): (year, project, source, channel)
    for year in range(FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR + 1)
    for project in catalogue.PROJECTS
    for source in catalogue.SOURCES
    for channel in catalogue.CHANNELS
    if source == catalogue.CITY_BUDGET or channel == catalogue.DEFAULT_CHANNEL
}


#: a line's figures, as ``BudgetLine.as_dict`` gives them (``available`` is computed from them)
FIGURES = (
    "assigned",
    "carried_in",
    "committed",
    "disbursed",
    "recovered",
    "carried_out",
    "cancelled",
)


def format_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " ₫"


class BudgetLine(LedgerAggregate):
    budget_year: int
    project: str
    source: str
    channel: str
    assigned: int
    carried_in: int
    committed: int
    disbursed: int
    recovered: int
    carried_out: int
    cancelled: int

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Assigned(LedgerAggregate.Created):
        class_version = 2
        budget_year: int
        project: str
        source: str
        channel: str
        amount: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Lines assigned before channels existed are the default channel's."""
            state["channel"] = catalogue.DEFAULT_CHANNEL

        def apply(self, aggregate: Any) -> None:
            aggregate.budget_year = self.budget_year
            aggregate.project = self.project
            aggregate.source = self.source
            aggregate.channel = self.channel
            aggregate.assigned = self.amount
            aggregate.carried_in = 0
            aggregate.committed = 0
            aggregate.disbursed = 0
            aggregate.recovered = 0
            aggregate.carried_out = 0
            aggregate.cancelled = 0

    class Adjusted(LedgerAggregate.Event):
        """Increased by a decision (điều chỉnh tăng)."""

        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Reduced(LedgerAggregate.Event):
        """Reduced by a decision (điều chỉnh giảm)."""

        amount: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Committed(LedgerAggregate.Event):
        record_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Released(LedgerAggregate.Event):
        record_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Disbursed(LedgerAggregate.Event):
        record_id: UUID
        disbursement_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class DisbursementReversed(LedgerAggregate.Event):
        record_id: UUID
        disbursement_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Recovered(LedgerAggregate.Event):
        record_id: UUID
        recovery_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class CarriedOut(LedgerAggregate.Event):
        """At year close: a record's committed-but-unpaid money goes to the next year's line
        (chuyển nguồn), with its commitment; the record draws there from now on."""

        record_id: UUID
        amount: int
        to_year: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class CarriedIn(LedgerAggregate.Event):
        """The other side of a carry-over: the money comes in and is committed at once to the
        same record (``available`` is unchanged)."""

        record_id: UUID
        amount: int
        from_year: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    class Cancelled(LedgerAggregate.Event):
        """At year close: the uncommitted rest of the line is cancelled (hủy dự toán)."""

        amount: int

        def apply(self, aggregate: Any) -> None:
            apply_changes(aggregate, self)

    @property
    def available(self) -> int:
        return self.assigned + self.carried_in - self.committed - self.cancelled

    @property
    def label(self) -> Message:
        channel = (
            ""
            if self.channel == catalogue.DEFAULT_CHANNEL
            else Message(" ({channel})", channel=CHANNEL(self.channel))
        )
        return Message(
            "The {source} line{channel} of {project} for {budget_year}",
            source=SOURCE(self.source),
            channel=channel,
            project=self.project,
            budget_year=self.budget_year,
        )

    @classmethod
    def assign(
        cls, budget_year: int, project: str, source: str, channel: str, amount: int, meta: Meta
    ) -> BudgetLine:
        return cls._create(
            cls.Assigned,
            id=budget_line_id(budget_year, project, source, channel),
            budget_year=budget_year,
            project=project,
            source=source,
            channel=channel,
            amount=amount,
            **meta.fields(),
        )

    @classmethod
    def carry_into(cls, budget_year: int, project: str, channel: str, meta: Meta) -> BudgetLine:
        """A line of ``budget_year`` that nothing was assigned to yet, opened by a carry-over
        (assigned 0; the carried money comes in with :meth:`carry_in`)."""
        return cls.assign(budget_year, project, catalogue.CITY_BUDGET, channel, 0, meta)

    def adjust(self, amount: int, meta: Meta) -> None:
        self.trigger_event(self.Adjusted, amount=amount, **meta.fields())

    def reduce(self, amount: int, reason: str, meta: Meta) -> None:
        """Reduce what is assigned; refused below what is committed (invariant 3)."""
        if amount > self.available:
            raise InsufficientBudget(
                Message(
                    "{line} has {available} uncommitted; a reduction of {amount} would leave it "
                    "below what it has committed.",
                    line=self.label,
                    available=format_vnd(self.available),
                    amount=format_vnd(amount),
                )
            )
        self.trigger_event(self.Reduced, amount=amount, reason=reason, **meta.fields())

    def check_room(self, amount: int) -> None:
        if amount > self.available:
            raise InsufficientBudget(
                Message(
                    "{line} has {available} uncommitted; {amount} was asked.",
                    line=self.label,
                    available=format_vnd(self.available),
                    amount=format_vnd(amount),
                )
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

    # -- year close ------------------------------------------------------------------------

    def carry_out(
        self, record_id: UUID, amount: int, meta: Meta, to_year: int | None = None
    ) -> None:
        """Carry a record's unpaid money to the next year's line (at a close), or to the line
        the record already draws on (``to_year``: a payment of before a close reversed)."""
        self.trigger_event(
            self.CarriedOut,
            record_id=record_id,
            amount=amount,
            to_year=self.budget_year + 1 if to_year is None else to_year,
            **meta.fields(),
        )

    def carry_in(self, record_id: UUID, amount: int, from_year: int, meta: Meta) -> None:
        self.trigger_event(
            self.CarriedIn, record_id=record_id, amount=amount, from_year=from_year, **meta.fields()
        )

    def cancel_rest(self, meta: Meta) -> int:
        """Cancel what is uncommitted (hủy dự toán); the amount cancelled (0: nothing)."""
        rest = self.available
        if rest > 0:
            self.trigger_event(self.Cancelled, amount=rest, **meta.fields())
        return rest

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "budget_year": self.budget_year,
            "project": self.project,
            "source": self.source,
            "channel": self.channel,
            "assigned": self.assigned,
            "carried_in": self.carried_in,
            "committed": self.committed,
            "disbursed": self.disbursed,
            "recovered": self.recovered,
            "carried_out": self.carried_out,
            "cancelled": self.cancelled,
            "available": self.available,
        }


def unpaid_by_record(events: Iterable[LedgerAggregate.Event]) -> dict[UUID, int]:
    """From a line's events: per record (application or activity) still drawing on the line,
    what it has committed there and not yet been paid (net of reversals and recoveries).
    Read at year close only, so the line itself keeps no per-record figures."""
    committed: dict[UUID, int] = {}
    paid: dict[UUID, int] = {}
    moved: set[UUID] = set()
    for event in events:
        if isinstance(event, BudgetLine.Committed | BudgetLine.CarriedIn):
            committed[event.record_id] = committed.get(event.record_id, 0) + event.amount
        elif isinstance(event, BudgetLine.Released):
            committed[event.record_id] = committed.get(event.record_id, 0) - event.amount
        elif isinstance(event, BudgetLine.Disbursed):
            paid[event.record_id] = paid.get(event.record_id, 0) + event.amount
        elif isinstance(event, BudgetLine.DisbursementReversed | BudgetLine.Recovered):
            paid[event.record_id] = paid.get(event.record_id, 0) - event.amount
        elif isinstance(event, BudgetLine.CarriedOut):
            moved.add(event.record_id)
    return {
        record_id: amount - paid.get(record_id, 0)
        for record_id, amount in committed.items()
        if record_id not in moved and amount - paid.get(record_id, 0) > 0
    }


#: the events that move a line's figures once it is assigned
LineMoved = (
    BudgetLine.Adjusted
    | BudgetLine.Reduced
    | BudgetLine.Committed
    | BudgetLine.Released
    | BudgetLine.Disbursed
    | BudgetLine.DisbursementReversed
    | BudgetLine.Recovered
    | BudgetLine.CarriedOut
    | BudgetLine.CarriedIn
    | BudgetLine.Cancelled
)

#: what each of them changes of a line's ``FIGURES``: (figure, sign of the event's amount).
#: The one place that says it: the aggregate applies it and every read model folds it.
CHANGES: dict[type[Any], tuple[tuple[str, int], ...]] = {
    BudgetLine.Adjusted: (("assigned", 1),),
    BudgetLine.Reduced: (("assigned", -1),),
    BudgetLine.Committed: (("committed", 1),),
    BudgetLine.Released: (("committed", -1),),
    BudgetLine.Disbursed: (("disbursed", 1),),
    BudgetLine.DisbursementReversed: (("disbursed", -1),),
    BudgetLine.Recovered: (("recovered", 1),),
    BudgetLine.CarriedOut: (("carried_out", 1),),
    # a carry-over comes in committed at once: ``available`` is unchanged
    BudgetLine.CarriedIn: (("carried_in", 1), ("committed", 1)),
    BudgetLine.Cancelled: (("cancelled", 1),),
}


def changes(event: Any) -> list[tuple[str, int]]:
    """What a ``LineMoved`` event changes of its line's figures, as (figure, amount in đồng)."""
    return [(figure, sign * event.amount) for figure, sign in CHANGES[type(event)]]


def apply_changes(line: Any, event: Any) -> None:
    for figure, amount in changes(event):
        setattr(line, figure, getattr(line, figure) + amount)
