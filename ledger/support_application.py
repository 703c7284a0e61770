"""SupportApplication (hồ sơ đề nghị hỗ trợ): one enterprise's request for support.

Lifecycle::

    submitted ⇄ returned ─┐
        │                 ├─ withdrawn
    appraised ────────────┤
        │                 └─ rejected
    approved ── contracted ── accepted ── settled
        │           │   └──── acceptance_failed
        └───────────┴─────────────┴──── cancelled

Advances and payments (city-budget money) are made once the contract is signed and until
settlement; a payment is corrected only by a reversal that names it. Recoveries may be
ordered and received after money was paid, settlement included. Each approval fixes the
amount per funding source and the budget year; the city-budget share is committed on that
year's budget line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID, uuid4

from ledger import catalogue
from ledger.access import APPROVING_DEPARTMENT, Actor
from ledger.base import LedgerAggregate, Meta
from ledger.budget_line import format_vnd
from ledger.commands import (
    AppraiseApplication,
    ApproveApplication,
    Funding,
    RecordAcceptance,
    RecordDisbursement,
    SubmitApplication,
)
from ledger.errors import (
    ExceedsApproved,
    ExceedsRequested,
    FieldProblem,
    Forbidden,
    FundingSplitMismatch,
    InvalidTransition,
    NotFound,
    SeparationOfDuties,
    ValidationFailed,
)
from ledger.messages import COMMA, Message, Terms
from ledger.support_rule import RuleVersion
from ledger.vocabulary import SOURCE

SUBMITTED = "submitted"
RETURNED = "returned"
APPRAISED = "appraised"
APPROVED = "approved"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
CONTRACTED = "contracted"
ACCEPTED = "accepted"
ACCEPTANCE_FAILED = "acceptance_failed"
SETTLED = "settled"
CANCELLED = "cancelled"

STATUSES = (
    SUBMITTED,
    RETURNED,
    APPRAISED,
    APPROVED,
    REJECTED,
    WITHDRAWN,
    CONTRACTED,
    ACCEPTED,
    ACCEPTANCE_FAILED,
    SETTLED,
    CANCELLED,
)

#: action -> statuses in which it is allowed (invariant 4)
ALLOWED: dict[str, frozenset[str]] = {
    "return": frozenset({SUBMITTED, APPRAISED}),
    "resubmit": frozenset({RETURNED}),
    "appraise": frozenset({SUBMITTED}),
    "approve": frozenset({APPRAISED}),
    "reject": frozenset({SUBMITTED, RETURNED, APPRAISED}),
    "withdraw": frozenset({SUBMITTED, RETURNED, APPRAISED}),
    "sign a contract for": frozenset({APPROVED}),
    "pay": frozenset({CONTRACTED, ACCEPTED}),
    "reverse a payment of": frozenset({CONTRACTED, ACCEPTED, ACCEPTANCE_FAILED, CANCELLED}),
    "record the acceptance of": frozenset({CONTRACTED}),
    "settle": frozenset({ACCEPTED}),
    "cancel": frozenset({APPROVED, CONTRACTED, ACCEPTANCE_FAILED}),
    "order a recovery for": frozenset(
        {CONTRACTED, ACCEPTED, ACCEPTANCE_FAILED, SETTLED, CANCELLED}
    ),
    "receive a recovery for": frozenset(
        {CONTRACTED, ACCEPTED, ACCEPTANCE_FAILED, SETTLED, CANCELLED}
    ),
}

#: the statuses and the actions as a refusal names them
STATUS = Terms("application status", STATUSES)
ACTION = Terms("application action", ALLOWED)
#: the amounts that may not be above what was requested
AMOUNT = Terms("approved amount", ("recommended", "approved"))

#: statuses after which the commitment has been closed (released down to the money paid out)
CLOSED = frozenset({SETTLED, CANCELLED})


def _body(field: str) -> tuple[str | int, ...]:
    return ("body", *field.split("."))


@dataclass(slots=True)
class Disbursement:
    id: UUID
    kind: str
    amount: int
    voucher_no: str
    reversed: bool = False
    #: the budget year whose line paid it (the drawing year when it was paid)
    year: int = 0


@dataclass(slots=True)
class Recovery:
    id: UUID
    amount: int
    received: bool = False


class SupportApplication(LedgerAggregate):
    enterprise_id: UUID
    dossier_no: str
    project: str
    support_type: str
    title: str
    total_cost: int
    requested: dict[str, int]
    recommended: dict[str, int] | None
    approved: dict[str, int] | None
    budget_year: int | None
    #: the city-budget channel the approval committed on (None before approval)
    channel: str | None
    #: the budget year whose line the commitment is on now: the approval's, until a year
    #: close carries the unpaid part over to the next year's line
    drawing_year: int | None
    status: str
    submitted_by: str
    appraised_by: str | None
    approved_by: str | None
    contract_no: str | None
    disbursements: dict[UUID, Disbursement]
    #: net city-budget money paid from each year's line (a close moves later payments on)
    paid_by_year: dict[int, int]
    recoveries: dict[UUID, Recovery]
    outputs: dict[str, int]
    acceptance_result: str | None
    counterpart_spent: dict[str, int] | None

    # -- events ------------------------------------------------------------------------

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Submitted(LedgerAggregate.Created):
        enterprise_id: UUID
        dossier_no: str
        project: str
        support_type: str
        title: str
        total_cost: int
        requested: dict[str, int]

        def apply(self, aggregate: Any) -> None:
            a = aggregate
            a.enterprise_id = self.enterprise_id
            a.dossier_no = self.dossier_no
            a.project = self.project
            a.support_type = self.support_type
            a.title = self.title
            a.total_cost = self.total_cost
            a.requested = dict(self.requested)
            a.recommended = a.approved = None
            a.budget_year = a.channel = a.drawing_year = None
            a.counterpart_spent = None
            a.status = SUBMITTED
            a.submitted_by = self.actor
            a.appraised_by = a.approved_by = a.contract_no = a.acceptance_result = None
            a.disbursements = {}
            a.recoveries = {}
            a.paid_by_year = {}
            a.outputs = {}

    class Returned(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = RETURNED

    class Resubmitted(LedgerAggregate.Event):
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = SUBMITTED
            aggregate.appraised_by = None
            aggregate.recommended = None

    class Appraised(LedgerAggregate.Event):
        recommended: dict[str, int]
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = APPRAISED
            aggregate.recommended = dict(self.recommended)
            aggregate.appraised_by = self.actor

    class Approved(LedgerAggregate.Event):
        class_version = 2
        budget_year: int
        approved: dict[str, int]
        channel: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Approvals made before channels existed drew on the default channel."""
            state["channel"] = catalogue.DEFAULT_CHANNEL

        def apply(self, aggregate: Any) -> None:
            aggregate.status = APPROVED
            aggregate.budget_year = aggregate.drawing_year = self.budget_year
            aggregate.channel = self.channel
            aggregate.approved = dict(self.approved)
            aggregate.approved_by = self.actor

    class Rejected(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = REJECTED

    class Withdrawn(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = WITHDRAWN

    class ContractSigned(LedgerAggregate.Event):
        contract_no: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = CONTRACTED
            aggregate.contract_no = self.contract_no

    class Disbursed(LedgerAggregate.Event):
        disbursement_id: UUID
        kind: str
        amount: int
        voucher_no: str

        def apply(self, aggregate: Any) -> None:
            aggregate.disbursements[self.disbursement_id] = Disbursement(
                self.disbursement_id,
                self.kind,
                self.amount,
                self.voucher_no,
                year=aggregate.drawing_year,
            )
            aggregate.paid(aggregate.drawing_year, self.amount)

    class DisbursementReversed(LedgerAggregate.Event):
        disbursement_id: UUID
        amount: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            disbursement = aggregate.disbursements[self.disbursement_id]
            disbursement.reversed = True
            aggregate.paid(disbursement.year, -self.amount)

    class AcceptanceRecorded(LedgerAggregate.Event):
        class_version = 2
        result: str
        outputs: dict[str, int]
        counterpart_spent: dict[str, int] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Acceptances recorded before counterpart spending was asked reported none."""
            state["counterpart_spent"] = None

        def apply(self, aggregate: Any) -> None:
            aggregate.acceptance_result = self.result
            aggregate.outputs = dict(self.outputs)
            aggregate.counterpart_spent = (
                dict(self.counterpart_spent) if self.counterpart_spent is not None else None
            )
            aggregate.status = ACCEPTED if self.result == "passed" else ACCEPTANCE_FAILED

    class Settled(LedgerAggregate.Event):
        released: int
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.status = SETTLED

    class Cancelled(LedgerAggregate.Event):
        released: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = CANCELLED

    class RecoveryOrdered(LedgerAggregate.Event):
        recovery_id: UUID
        amount: int
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.recoveries[self.recovery_id] = Recovery(self.recovery_id, self.amount)

    class RecoveryReceived(LedgerAggregate.Event):
        recovery_id: UUID
        amount: int

        def apply(self, aggregate: Any) -> None:
            for year, part in aggregate.recovery_lines(self.amount):
                aggregate.paid(year, -part)
            aggregate.recoveries[self.recovery_id].received = True

    class CommitmentCarried(LedgerAggregate.Event):
        """At the close of ``from_year``: the unpaid part of the commitment moved to the line
        of ``to_year`` (chuyển nguồn); payments draw on that line from now on."""

        from_year: int
        to_year: int
        amount: int

        def apply(self, aggregate: Any) -> None:
            aggregate.drawing_year = self.to_year

    # -- derived figures -----------------------------------------------------------------

    def paid(self, year: int, amount: int) -> None:
        """Money paid (or, negative, taken back) on the line of ``year``."""
        self.paid_by_year[year] = self.paid_by_year.get(year, 0) + amount

    def recovery_lines(self, amount: int) -> list[tuple[int, int]]:
        """The lines a recovery of ``amount`` goes back to, as (budget year, amount). An open
        application's: its drawing line. A closed one's: the lines it was paid from, the
        drawing line first, then the years before it (a payment made before a close carried
        the application over came from the closed year's line, where the money is cancelled
        at once)."""
        year = cast(int, self.drawing_year)
        if not self.is_closed:
            return [(year, amount)]
        parts: dict[int, int] = {}
        left = amount
        for paid_year in sorted((y for y in self.paid_by_year if y <= year), reverse=True):
            part = min(left, max(self.paid_by_year[paid_year], 0))
            if part > 0:
                parts[paid_year] = part
                left -= part
        if left > 0:
            parts[year] = parts.get(year, 0) + left
        return sorted(parts.items(), reverse=True)

    @property
    def approved_city_budget(self) -> int:
        return (self.approved or {}).get("city_budget", 0)

    @property
    def disbursed(self) -> int:
        """City-budget money paid out, net of reversals."""
        return sum(d.amount for d in self.disbursements.values() if not d.reversed)

    @property
    def recovered(self) -> int:
        return sum(r.amount for r in self.recoveries.values() if r.received)

    @property
    def recovery_ordered(self) -> int:
        return sum(r.amount for r in self.recoveries.values())

    @property
    def unused_commitment(self) -> int:
        """What closing the application now would release from its budget line."""
        return self.approved_city_budget - (self.disbursed - self.recovered)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    # -- guards --------------------------------------------------------------------------

    def check_status(self, action: str) -> None:
        if self.status not in ALLOWED[action]:
            raise InvalidTransition(
                Message(
                    "Cannot {action} application {dossier_no}: it is {status}; that needs it "
                    "to be {allowed}.",
                    action=ACTION(action),
                    dossier_no=self.dossier_no,
                    status=STATUS(self.status),
                    allowed=STATUS.of(sorted(ALLOWED[action]), COMMA),
                )
            )

    @staticmethod
    def check_funding_split(cmd: SubmitApplication) -> None:
        if cmd.requested.total != cmd.total_cost:
            raise FundingSplitMismatch(
                Message(
                    "The requested amounts add up to {total}, not the total cost of {cost}.",
                    total=format_vnd(cmd.requested.total),
                    cost=format_vnd(cmd.total_cost),
                ),
                errors=(
                    FieldProblem(_body("requested"), Message("does not add up to total_cost")),
                ),
            )

    @staticmethod
    def check_support_type(project: str, support_type: str) -> None:
        if not catalogue.support_type_allowed(support_type, project):
            raise ValidationFailed(
                Message(
                    "Support type {support_type!r} does not belong to project {project}.",
                    support_type=support_type,
                    project=project,
                ),
                errors=(
                    FieldProblem(
                        _body("support_type"),
                        Message("not a support type of {project}", project=project),
                    ),
                ),
            )

    def check_not_above(self, given: Funding, ceiling: dict[str, int], what: str) -> None:
        for source, amount in given.as_dict().items():
            if amount > ceiling.get(source, 0):
                raise ExceedsRequested(
                    Message(
                        "The {what} {source} amount {amount} is above the {ceiling} requested.",
                        what=AMOUNT(what),
                        source=SOURCE(source),
                        amount=format_vnd(amount),
                        ceiling=format_vnd(ceiling.get(source, 0)),
                    )
                )

    def check_separation_of_duties(self, actor: Actor) -> None:
        if actor.user_id == self.submitted_by:
            raise SeparationOfDuties(
                Message("The approver may not be the person who submitted the application.")
            )
        if actor.user_id == self.appraised_by:
            raise SeparationOfDuties(
                Message("The approver may not be the person who appraised the application.")
            )

    # -- commands ------------------------------------------------------------------------

    @classmethod
    def submit(cls, cmd: SubmitApplication, meta: Meta) -> SupportApplication:
        cls.check_support_type(cmd.project, cmd.support_type)
        cls.check_funding_split(cmd)
        return cls._create(
            cls.Submitted,
            id=uuid4(),
            enterprise_id=cmd.enterprise_id,
            dossier_no=cmd.dossier_no,
            project=cmd.project,
            support_type=cmd.support_type,
            title=cmd.title,
            total_cost=cmd.total_cost,
            requested=cmd.requested.as_dict(),
            **meta.fields(),
        )

    def return_for_completion(self, reason: str, meta: Meta) -> None:
        self.check_status("return")
        self.trigger_event(self.Returned, reason=reason, **meta.fields())

    def resubmit(self, note: str | None, meta: Meta) -> None:
        self.check_status("resubmit")
        self.trigger_event(self.Resubmitted, note=note, **meta.fields())

    def appraise(self, cmd: AppraiseApplication, meta: Meta) -> None:
        self.check_status("appraise")
        self.check_not_above(cmd.recommended, self.requested, "recommended")
        if cmd.recommended.total == 0:
            raise ValidationFailed(
                Message("The recommendation is zero: reject the application instead."),
                errors=(FieldProblem(_body("recommended"), Message("adds up to zero")),),
            )
        self.trigger_event(
            self.Appraised, recommended=cmd.recommended.as_dict(), note=cmd.note, **meta.fields()
        )

    def approve(self, cmd: ApproveApplication, meta: Meta, rule: RuleVersion | None = None) -> None:
        """Approve; the city-budget share must respect ``rule``, the support rule in force on
        the decision date (None: no rule, no cap)."""
        self.check_status("approve")
        self.check_separation_of_duties(meta.actor)
        if meta.actor.department != APPROVING_DEPARTMENT:
            raise Forbidden(
                Message(
                    "Only officers of {approving} approve support applications; you act for "
                    "{department}.",
                    approving=APPROVING_DEPARTMENT,
                    department=meta.actor.department,
                )
            )
        self.check_not_above(cmd.approved, self.requested, "approved")
        if cmd.approved.total == 0:
            raise ValidationFailed(
                Message("The approval is zero: reject the application instead."),
                errors=(FieldProblem(_body("approved"), Message("adds up to zero")),),
            )
        if rule is not None:
            rule.check(self.total_cost, cmd.approved.city_budget, self.dossier_no)
        self.trigger_event(
            self.Approved,
            budget_year=cmd.budget_year,
            approved=cmd.approved.as_dict(),
            channel=cmd.channel,
            **meta.fields(),
        )

    def reject(self, reason: str, meta: Meta) -> None:
        self.check_status("reject")
        self.trigger_event(self.Rejected, reason=reason, **meta.fields())

    def withdraw(self, reason: str, meta: Meta) -> None:
        self.check_status("withdraw")
        self.trigger_event(self.Withdrawn, reason=reason, **meta.fields())

    def sign_contract(self, contract_no: str, meta: Meta) -> None:
        self.check_status("sign a contract for")
        self.trigger_event(self.ContractSigned, contract_no=contract_no, **meta.fields())

    def disburse(self, cmd: RecordDisbursement, meta: Meta) -> UUID:
        self.check_status("pay")
        room = self.approved_city_budget - (self.disbursed - self.recovered)
        if cmd.amount > room:
            raise ExceedsApproved(
                Message(
                    "Paying {amount} would pass the approved city-budget share of {approved}: "
                    "{room} remains.",
                    amount=format_vnd(cmd.amount),
                    approved=format_vnd(self.approved_city_budget),
                    room=format_vnd(room),
                )
            )
        disbursement_id = uuid4()
        self.trigger_event(
            self.Disbursed,
            disbursement_id=disbursement_id,
            kind=cmd.kind,
            amount=cmd.amount,
            voucher_no=cmd.voucher_no,
            **meta.fields(),
        )
        return disbursement_id

    def reverse_disbursement(self, disbursement_id: UUID, reason: str, meta: Meta) -> int:
        self.check_status("reverse a payment of")
        disbursement = self.disbursements.get(disbursement_id)
        if disbursement is None:
            raise NotFound(
                Message(
                    "Application {dossier_no} has no payment {payment}.",
                    dossier_no=self.dossier_no,
                    payment=disbursement_id,
                )
            )
        if disbursement.reversed:
            raise InvalidTransition(
                Message(
                    "Payment {voucher_no} has already been reversed; a reversal cannot exceed "
                    "what it reverses.",
                    voucher_no=disbursement.voucher_no,
                )
            )
        if self.disbursed - disbursement.amount < self.recovery_ordered:
            raise InvalidTransition(
                Message(
                    "Reversing payment {voucher_no} would leave less paid out than the "
                    "recoveries already ordered.",
                    voucher_no=disbursement.voucher_no,
                )
            )
        self.trigger_event(
            self.DisbursementReversed,
            disbursement_id=disbursement_id,
            amount=disbursement.amount,
            reason=reason,
            **meta.fields(),
        )
        return disbursement.amount

    def record_acceptance(self, cmd: RecordAcceptance, meta: Meta) -> None:
        self.check_status("record the acceptance of")
        target = catalogue.SUPPORT_TYPES[self.support_type].target
        if cmd.result == "failed" and cmd.outputs:
            raise ValidationFailed(
                Message("A failed acceptance counts no outputs."),
                errors=(
                    FieldProblem(_body("outputs"), Message("must be empty when result is failed")),
                ),
            )
        for code in cmd.outputs:
            if code != target:
                expected = (
                    Message("only toward {target}", target=target)
                    if target
                    else Message("toward no target")
                )
                raise ValidationFailed(
                    Message(
                        "Support type {support_type} counts {expected}, not {code}.",
                        support_type=self.support_type,
                        expected=expected,
                        code=code,
                    ),
                    errors=(
                        FieldProblem(
                            _body(f"outputs.{code}"), Message("not this support's target")
                        ),
                    ),
                )
        spent = cmd.counterpart_spent
        self.trigger_event(
            self.AcceptanceRecorded,
            result=cmd.result,
            outputs=dict(cmd.outputs),
            counterpart_spent=None if spent is None else spent.model_dump(),
            **meta.fields(),
        )

    def carry(self, to_year: int, amount: int, meta: Meta, from_year: int | None = None) -> None:
        """Record that ``amount`` of the commitment moved to the line of ``to_year``: at the
        close of the drawing year, or (``from_year``) a payment of an earlier year's line
        reversed, which the application still has to be paid from where it draws now."""
        self.trigger_event(
            self.CommitmentCarried,
            from_year=self.drawing_year if from_year is None else from_year,
            to_year=to_year,
            amount=amount,
            **meta.fields(),
        )

    def settle(self, note: str | None, meta: Meta) -> int:
        self.check_status("settle")
        released = self.unused_commitment
        self.trigger_event(self.Settled, released=released, note=note, **meta.fields())
        return released

    def cancel(self, reason: str, meta: Meta) -> int:
        self.check_status("cancel")
        released = self.unused_commitment
        self.trigger_event(self.Cancelled, released=released, reason=reason, **meta.fields())
        return released

    def order_recovery(self, amount: int, reason: str, meta: Meta) -> UUID:
        self.check_status("order a recovery for")
        recoverable = self.disbursed - self.recovery_ordered
        if amount > recoverable:
            raise ExceedsApproved(
                Message(
                    "Cannot order the recovery of {amount}: only {recoverable} paid out is not "
                    "yet under a recovery order.",
                    amount=format_vnd(amount),
                    recoverable=format_vnd(recoverable),
                )
            )
        recovery_id = uuid4()
        self.trigger_event(
            self.RecoveryOrdered,
            recovery_id=recovery_id,
            amount=amount,
            reason=reason,
            **meta.fields(),
        )
        return recovery_id

    def receive_recovery(self, recovery_id: UUID, meta: Meta) -> int:
        self.check_status("receive a recovery for")
        recovery = self.recoveries.get(recovery_id)
        if recovery is None:
            raise NotFound(
                Message(
                    "Application {dossier_no} has no recovery order {recovery}.",
                    dossier_no=self.dossier_no,
                    recovery=recovery_id,
                )
            )
        if recovery.received:
            raise InvalidTransition(Message("This recovery has already been received."))
        self.trigger_event(
            self.RecoveryReceived, recovery_id=recovery_id, amount=recovery.amount, **meta.fields()
        )
        return recovery.amount

    # -- views ---------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "dossier_no": self.dossier_no,
            "status": self.status,
            "enterprise_id": str(self.enterprise_id),
            "project": self.project,
            "support_type": self.support_type,
            "title": self.title,
            "total_cost": self.total_cost,
            "requested": dict(self.requested),
            "recommended": self.recommended,
            "approved": self.approved,
            "budget_year": self.budget_year,
            "channel": self.channel,
            "drawing_year": self.drawing_year,
            "contract_no": self.contract_no,
            "disbursed": self.disbursed,
            "recovery_ordered": self.recovery_ordered,
            "recovered": self.recovered,
            "acceptance_result": self.acceptance_result,
            "outputs": dict(self.outputs),
            "counterpart_spent": self.counterpart_spent,
            "disbursements": [
                {
                    "id": str(d.id),
                    "kind": d.kind,
                    "amount": d.amount,
                    "voucher_no": d.voucher_no,
                    "reversed": d.reversed,
                }
                for d in self.disbursements.values()
            ],
            "recoveries": [
                {"id": str(r.id), "amount": r.amount, "received": r.received}
                for r in self.recoveries.values()
            ],
            "version": self.version,
        }
