"""AnnualEstimate: the program's estimate (dự toán) of one budget year, from needs to approval.

Section IV.2.b of the decision: every year Sở KH&CN prepares the estimate from the program's
goals, the approved projects and the needs reported by departments and enterprises; Sở Tài
chính appraises it; the city approves it, which assigns the year's budget lines. The stages:

    collecting needs → drafted (version 1, 2, … while not appraised) ⇄ returned
                     → appraised → approved (the lines of the year are assigned)

Needs are reported by any department's officers until the estimate is appraised. A draft is
computed from the ledger (``ledger/estimate_method.py``), each line with the figures that
justify it; redrafting before appraisal makes a new version. The appraisal sets every line's
amount, each change from the draft with its reason; a return sends the draft back instead.
The approval, by a leader, assigns the budget lines of the year in the same transaction.
Anything out of order is ``invalid_transition``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4, uuid5

from ledger.base import LEDGER_NAMESPACE, LedgerAggregate, Meta
from ledger.errors import InvalidTransition
from ledger.messages import OR, Message, Terms

COLLECTING = "collecting"
DRAFTED = "drafted"
RETURNED = "returned"
APPRAISED = "appraised"
APPROVED = "approved"
STATUSES = (COLLECTING, DRAFTED, RETURNED, APPRAISED, APPROVED)
#: the stages and the actions as a refusal names them
STATUS = Terms("estimate status", STATUSES)
ACTION = Terms("estimate action", ("report needs for", "draft", "appraise", "return", "approve"))

#: a line's key: (project, source, channel)
LineKey = tuple[str, str, str]


def annual_estimate_id(budget_year: int) -> UUID:
    return uuid5(LEDGER_NAMESPACE, f"annual-estimate/{budget_year}")


def line_key(line: dict[str, Any]) -> LineKey:
    return (line["project"], line["source"], line["channel"])


class AnnualEstimate(LedgerAggregate):
    budget_year: int
    status: str
    #: reported needs, in the order reported: {id, department, project, support_type,
    #: enterprises, amount, note, reported_on}
    needs: list[dict[str, Any]]
    #: every draft version, oldest first: {version, prepared_on, position, lines}
    drafts: list[dict[str, Any]]
    #: the appraisal: {appraised_on, lines: [{project, source, channel, drafted, amount,
    #: reason}]} (None before)
    appraisal: dict[str, Any] | None
    returns: list[dict[str, Any]]
    approval: dict[str, Any] | None

    def __init__(self) -> None:
        """State is set by the created event's ``apply``."""

    class Opened(LedgerAggregate.Created):
        budget_year: int

        def apply(self, aggregate: Any) -> None:
            aggregate.budget_year = self.budget_year
            aggregate.status = COLLECTING
            aggregate.needs = []
            aggregate.drafts = []
            aggregate.appraisal = None
            aggregate.returns = []
            aggregate.approval = None

    class NeedsReported(LedgerAggregate.Event):
        need_id: UUID
        project: str
        support_type: str
        enterprises: int
        amount: int
        note: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate.needs.append(
                {
                    "id": str(self.need_id),
                    "department": self.department,
                    "project": self.project,
                    "support_type": self.support_type,
                    "enterprises": self.enterprises,
                    "amount": self.amount,
                    "note": self.note,
                    "reported_on": self.effective_date.isoformat(),
                }
            )

    class Drafted(LedgerAggregate.Event):
        """A draft version: ``lines`` are {project, source, channel, amount, justification:
        [{input, amount, detail}]} whose justification amounts add up to the line's;
        ``position`` is the position of the log the inputs were read at."""

        version: int
        position: int
        lines: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = DRAFTED
            aggregate.appraisal = None
            aggregate.drafts.append(
                {
                    "version": self.version,
                    "prepared_on": self.effective_date.isoformat(),
                    "prepared_by": self.actor,
                    "position": self.position,
                    "lines": [dict(line) for line in self.lines],
                }
            )

    class Appraised(LedgerAggregate.Event):
        """Sở Tài chính's appraisal: every line of the draft and any line it adds, with the
        drafted and appraised amounts and the reason of each change."""

        draft_version: int
        lines: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = APPRAISED
            aggregate.appraisal = {
                "appraised_on": self.effective_date.isoformat(),
                "appraised_by": self.actor,
                "draft_version": self.draft_version,
                "lines": [dict(line) for line in self.lines],
            }

    class Returned(LedgerAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = RETURNED
            aggregate.returns.append(
                {"returned_on": self.effective_date.isoformat(), "reason": self.reason}
            )

    class Approved(LedgerAggregate.Event):
        """The city's approval (giao dự toán): the appraised lines become the year's budget
        lines, assigned in the same transaction (their ``BudgetLine`` events follow)."""

        decision_no: str
        lines: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.status = APPROVED
            aggregate.approval = {
                "decision_no": self.decision_no,
                "decided_on": self.effective_date.isoformat(),
                "approved_by": self.actor,
                "lines": [dict(line) for line in self.lines],
            }

    # -- commands ----------------------------------------------------------------------------

    @classmethod
    def open(cls, budget_year: int, meta: Meta) -> AnnualEstimate:
        return cls._create(
            cls.Opened, id=annual_estimate_id(budget_year), budget_year=budget_year, **meta.fields()
        )

    def check_stage(self, action: str, allowed: tuple[str, ...]) -> None:
        """Refuse (``invalid_transition``) unless the estimate is at one of ``allowed``."""
        self._require(action, allowed)

    def _require(self, action: str, allowed: tuple[str, ...]) -> None:
        if self.status not in allowed:
            raise InvalidTransition(
                Message(
                    "Cannot {action} the estimate of {budget_year}: it is {status}; that needs "
                    "it to be {allowed}.",
                    action=ACTION(action),
                    budget_year=self.budget_year,
                    status=STATUS(self.status),
                    allowed=STATUS.of(allowed, OR),
                )
            )

    def report_needs(
        self,
        project: str,
        support_type: str,
        enterprises: int,
        amount: int,
        note: str | None,
        meta: Meta,
    ) -> UUID:
        self._require("report needs for", (COLLECTING, DRAFTED, RETURNED))
        need_id = uuid4()
        self.trigger_event(
            self.NeedsReported,
            need_id=need_id,
            project=project,
            support_type=support_type,
            enterprises=enterprises,
            amount=amount,
            note=note,
            **meta.fields(),
        )
        return need_id

    def draft(self, position: int, lines: list[dict[str, Any]], meta: Meta) -> int:
        self._require("draft", (COLLECTING, DRAFTED, RETURNED))
        version = len(self.drafts) + 1
        self.trigger_event(
            self.Drafted, version=version, position=position, lines=lines, **meta.fields()
        )
        return version

    @property
    def latest_draft(self) -> dict[str, Any] | None:
        return self.drafts[-1] if self.drafts else None

    def appraise(self, lines: list[dict[str, Any]], meta: Meta) -> None:
        self._require("appraise", (DRAFTED,))
        draft = self.latest_draft
        assert draft is not None
        self.trigger_event(
            self.Appraised, draft_version=draft["version"], lines=lines, **meta.fields()
        )

    def return_for_redrafting(self, reason: str, meta: Meta) -> None:
        self._require("return", (DRAFTED,))
        self.trigger_event(self.Returned, reason=reason, **meta.fields())

    def approve(self, decision_no: str, meta: Meta) -> list[dict[str, Any]]:
        """Approve; the appraised lines to assign (those with an amount)."""
        self._require("approve", (APPRAISED,))
        assert self.appraisal is not None
        lines = [
            {k: line[k] for k in ("project", "source", "channel", "amount")}
            for line in self.appraisal["lines"]
            if line["amount"] > 0
        ]
        self.trigger_event(self.Approved, decision_no=decision_no, lines=lines, **meta.fields())
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "budget_year": self.budget_year,
            "status": self.status,
            "needs": [dict(n) for n in self.needs],
            "drafts": [dict(d) for d in self.drafts],
            "appraisal": self.appraisal,
            "returns": [dict(r) for r in self.returns],
            "approval": self.approval,
        }
