"""What the reports answer, as the OpenAPI document describes it: one named model per report
and per row (``extra=forbid``). The readers of :mod:`api.reports` answer plain data of these
shapes; a test holds every live, stale and past answer to them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from api.answers import ACTOR_NAME, DEPARTMENT_NAME, AvailableOut, FundingOut, Out, without_default
from ledger.catalogue import CHANNELS, PROJECTS, SOURCES, TARGETS
from ledger.support_application import STATUSES
from projections import journal

#: codes of the program catalogue and the journal, as the answers' schemas list them
ProjectCodeOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(PROJECTS)})]
SourceCodeOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(SOURCES)})]
ChannelCodeOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(CHANNELS)})]
TargetCodeOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(TARGETS)})]
StatusOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(STATUSES)})]
AccountOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(journal.ACCOUNTS)})]
HEX_HASH = r"^[0-9a-f]{64}$"


class ViewOut(Out):
    """Which past view a replayed answer is (``as_known_at``, ``as_of``); a live answer has
    no view."""

    as_known_at: int | dt.datetime | None = Field(
        description="as asked: the position given, or the time given (in UTC); null: now"
    )
    as_of: dt.date | None = Field(description="as asked: the business date; null: every date")
    position: int = Field(
        description="the last position of the log the view reflects: for a time, the last "
        "recorded by then; for a position, the end of its command"
    )
    root_hash: str | None = Field(
        pattern=HEX_HASH,
        description="lowercase hex of the Merkle root of the log's first `position` events, to "
        "check against a signed checkpoint (GET /api/audit/proofs/consistency?first=position"
        "&second=its tree_size); null when the tree cannot hold that many events",
    )


class ReportOut(Out):
    """What every report answers besides its rows."""

    position: int = Field(description="the position of the log the rows reflect")
    stale: Literal[True] | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=without_default,
        description="only with min_position, when the projection had not folded it after "
        "waiting briefly: the rows reflect `position`, before min_position (absent otherwise)",
    )
    view: ViewOut | SkipJsonSchema[None] = Field(
        default=None,
        json_schema_extra=without_default,
        description="only on a past view (as_known_at or as_of): which one; absent on a live "
        "answer",
    )


class SpendRowOut(AvailableOut):
    """City budget of one budget year × project × channel, in đồng: the budget line's own
    figures (GET /api/budget-lines says the same)."""

    budget_year: int
    project: ProjectCodeOut
    source: Literal["city_budget"]
    channel: ChannelCodeOut


class CounterpartRowOut(Out):
    """Counterpart funding (vốn đối ứng) of one budget year × project × source, in đồng: never
    assigned or available, only pledged in approvals and spent as recorded at acceptance."""

    budget_year: int = Field(description="the approval's budget year")
    project: ProjectCodeOut
    source: Literal["enterprise", "other"]
    pledged: int = Field(description="the approved shares of applications not cancelled")
    spent: int = Field(description="what was spent, as recorded at acceptance")


class ApplicationCountOut(Out):
    """The applications of one budget year × project by status."""

    budget_year: int = Field(
        description="the budget year, or the year of submission until an approval fixes it"
    )
    project: ProjectCodeOut
    by_status: dict[str, int] = Field(
        description="statuses without applications left out",
        json_schema_extra={"propertyNames": {"enum": list(STATUSES)}},
    )


class SpendReportOut(ReportOut):
    """``GET /api/reports/project-spend``: the city budget by budget year, project and
    channel (``rows``), counterpart funding by budget year, project and source where anything
    was pledged or spent (``counterpart``; none when a channel is asked), and the applications
    by status (``applications``)."""

    rows: list[SpendRowOut]
    counterpart: list[CounterpartRowOut]
    applications: list[ApplicationCountOut]


class DepartmentRowOut(Out):
    """What one department did in one year (the year of each event's effective date),
    counted for the department of whoever recorded each event."""

    department: str = Field(description="a department code of the program catalogue")
    budget_year: int
    events: int = Field(description="every event recorded, of whatever record")
    applications_submitted: int
    applications_approved: int
    approved_amount: int = Field(description="the city-budget share approved, in đồng")
    disbursed_amount: int = Field(
        description="advances and payments of city-budget money to applications, net of "
        "reversals, in đồng"
    )
    activities: int = Field(description="program activities approved to be run by it")


class DepartmentReportOut(ReportOut):
    """``GET /api/reports/department-activity``: by year, then department."""

    rows: list[DepartmentRowOut]


class TargetRowOut(Out):
    """Progress to one of the program's eight targets (GLOSSARY's units)."""

    target: TargetCodeOut
    project: ProjectCodeOut
    unit: str = Field(description="what the target counts, in Vietnamese")
    target_value: int = Field(description="the number the decision promises")
    achieved: int = Field(description="up to and including budget_year (all years without it)")
    percent: float = Field(description="achieved / target_value × 100, to one decimal")
    by_year: dict[str, int] = Field(
        description="what was achieved in each year (the year as a string) up to budget_year; "
        "years without progress left out"
    )


class TargetsReportOut(ReportOut):
    """``GET /api/reports/targets``: the eight targets in the decision's order."""

    rows: list[TargetRowOut]


class AuditRowOut(Out):
    """One event of the log, as the audit trail tells it."""

    position: int = Field(description="global position of the event")
    recorded_at: dt.datetime = Field(description="when the store recorded it (UTC)")
    effective_date: dt.date = Field(description="the business date on the decision or voucher")
    record_type: str = Field(description="the kind of record, e.g. SupportApplication")
    record_id: UUID
    event_type: str = Field(description="e.g. SupportApplication.Approved")
    actor: str = Field(description="user id of who recorded it")
    actor_name: str | None = Field(description=ACTOR_NAME)
    department: str = Field(description="the actor's department")
    department_name: str | None = Field(description=DEPARTMENT_NAME)
    amounts: dict[str, int | dict[str, int]] = Field(
        description="the event's money in đồng: an amount, or an amount per funding source "
        "(requested, recommended, approved); empty when it has none"
    )
    references: dict[str, str] = Field(
        description="decision, voucher, contract numbers and the like; empty on a personnel "
        "record withheld from this reader"
    )
    summary: str = Field(
        description="one sentence in Vietnamese saying what happened; for a personnel record "
        "(a user's access) withheld from this reader, a sentence saying so"
    )


class AuditTrailReportOut(ReportOut):
    """``GET /api/reports/audit-trail``: one page of the trail."""

    rows: list[AuditRowOut]
    next_page: int | None = Field(description="the next page's number; null on the last")


class AccountRowOut(Out):
    """One account's balance, on its side (debit when its debits exceed its credits)."""

    account: AccountOut
    debit: int
    credit: int


class TrialBalanceOut(ReportOut):
    """``GET /api/reports/trial-balance``: the journal's accounts in chart order, for one
    budget year or all; the totals are equal."""

    rows: list[AccountRowOut]
    total_debit: int
    total_credit: int


class ApplicationRowOut(Out):
    """An application as the register holds it now (or as the view had it)."""

    id: UUID
    dossier_no: str
    enterprise_id: UUID
    enterprise_name: str = Field(description="the enterprise's name, kept current")
    project: ProjectCodeOut
    support_type: str
    title: str
    status: StatusOut
    total_cost: int
    requested: FundingOut
    approved: FundingOut | None
    budget_year: int | None = Field(description="fixed by the approval; null before")
    channel: ChannelCodeOut | None = Field(
        description="the city-budget channel the approval draws on; null before"
    )
    drawing_year: int | None = Field(
        description="the budget year whose line the commitment is on now: the approval's, "
        "or a later one after a year close carried the unpaid part over; null before"
    )
    submitted_on: dt.date = Field(description="the effective date of the submission")
    disbursed: int = Field(description="city-budget money paid out, net of reversals")
    recovered: int
    contract_no: str | None
    updated_position: int = Field(description="position of the application's last event")


class ApplicationsPageOut(ReportOut):
    """``GET /api/applications``: one page, by submission date and dossier number."""

    rows: list[ApplicationRowOut]
    next_page: int | None = Field(description="the next page's number; null on the last")
