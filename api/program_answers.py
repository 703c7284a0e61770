"""What the program, estimate and budget-execution reports answer, as the OpenAPI document
describes them (``extra=forbid``; see :mod:`api.report_answers` for the other reports)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.answers import LineFiguresOut, Out
from api.audit import CheckpointOut
from api.report_answers import (
    HEX_HASH,
    ChannelCodeOut,
    ProjectCodeOut,
    ReportOut,
    SourceCodeOut,
    TargetRowOut,
)


class EvidenceOut(Out):
    """Where the figures come from: the log's first ``position`` events."""

    position: int
    root_hash: str | None = Field(
        pattern=HEX_HASH,
        description="lowercase hex of the Merkle root of the first `position` events; null "
        "when the tree cannot hold that many",
    )
    checkpoint: CheckpointOut | None = Field(
        description="the newest signed checkpoint of at most `position` events (null before "
        "the first): prove the root against it with GET /api/audit/proofs/consistency"
    )


class PeriodOut(Out):
    from_: int = Field(alias="from", description="the first budget year")
    to: int = Field(description="the last budget year")
    kind: Literal["annual", "mid_term", "final", "period"] = Field(
        description="annual (one year), mid_term (2011–2015, sơ kết), final (2011–2020, "
        "tổng kết), or another period"
    )
    title: str = Field(description="the report's Vietnamese title")


class ProgramTargetOut(TargetRowOut):
    in_period: int = Field(description="achieved in the period's years")


class SupportOut(Out):
    applications: int = Field(description="applications approved in the period")
    enterprises: int = Field(description="distinct enterprises among them")
    approved: int = Field(description="their city-budget share approved, in đồng")
    cancelled: int = Field(description="approved applications cancelled in the period")
    paid: int = Field(
        description="city-budget money paid in the period (net of reversals, less recoveries "
        "received in the period), in đồng"
    )


class SupportGroupOut(SupportOut):
    """One group of a breakdown; the group's code is under the breakdown's name."""

    support_type: str | None = None
    project: str | None = None
    district: str | None = Field(
        default=None, description="the district the enterprise was in when it was supported"
    )
    sector: str | None = None
    size: str | None = None


class SupportBreakdownOut(Out):
    support_type: list[SupportGroupOut]
    project: list[SupportGroupOut]
    district: list[SupportGroupOut]
    sector: list[SupportGroupOut]
    size: list[SupportGroupOut]


class SupportSectionOut(Out):
    total: SupportOut
    by: SupportBreakdownOut


class MoneyFiguresOut(LineFiguresOut):
    """The city budget's figures, in đồng, summed over the period's budget years."""

    proposed: int
    appraised: int
    approved: int = Field(description="the approved estimate")
    adjusted: int


class MoneyRowOut(MoneyFiguresOut):
    project: ProjectCodeOut
    source: SourceCodeOut
    channel: ChannelCodeOut


class SharesOut(Out):
    city_budget: float | None
    enterprise: float | None
    other: float | None


class CounterpartProjectOut(Out):
    """Counterpart money of one project: pledged in the period's approvals, less the pledges
    of approvals cancelled in the period; and for the
    applications accepted in the period, what the city paid them beside what the enterprise
    and other sources recorded as spent, with each one's share (percent of the three)."""

    project: ProjectCodeOut
    pledged_enterprise: int
    pledged_other: int
    accepted_applications: int
    city_paid: int
    spent_enterprise: int
    spent_other: int
    shares_percent: SharesOut


class MoneySectionOut(Out):
    rows: list[MoneyRowOut]
    totals: MoneyFiguresOut
    counterpart: list[CounterpartProjectOut]


class DepartmentActivitiesOut(Out):
    department: str
    activities: int = Field(description="activities it was approved to run in the period")
    budget: int = Field(description="their budget, in đồng")
    spent: int = Field(description="what it spent in the period, in đồng")


class ProgramReportOut(ReportOut):
    """``GET /api/reports/program``: the program's results for a period of budget years."""

    period: PeriodOut
    targets: list[ProgramTargetOut]
    support: SupportSectionOut
    money: MoneySectionOut
    activities: list[DepartmentActivitiesOut]
    evidence: EvidenceOut


class PreviousOut(LineFiguresOut):
    """The line's execution in the year before, in đồng."""


class EstimateLineOut(Out):
    project: ProjectCodeOut
    source: SourceCodeOut
    channel: ChannelCodeOut
    proposed: int | None = Field(description="the latest draft's amount; null before a draft")
    appraised: int | None = Field(description="null before the appraisal")
    reason: str | None = Field(description="the appraisal's reason for changing the draft")
    approved: int | None = Field(description="null before the approval")
    previous: PreviousOut


class EstimateTotalsOut(Out):
    proposed: int | None
    appraised: int | None
    approved: int | None
    previous: PreviousOut


class EstimateReportOut(ReportOut):
    """``GET /api/reports/estimate/{budget_year}``: the estimate in the shape Sở Tài chính
    appraises it, beside the year before's execution."""

    budget_year: int
    stages: list[Literal["proposed", "appraised", "approved"]]
    rows: list[EstimateLineOut]
    totals: EstimateTotalsOut
    evidence: EvidenceOut


class ExecutionRowOut(MoneyRowOut):
    budget_year: int


class ExecutionReportOut(ReportOut):
    """``GET /api/reports/budget-execution``: per budget year × project × source × channel."""

    budget_year: int | None
    rows: list[ExecutionRowOut]
    totals: MoneyFiguresOut
    evidence: EvidenceOut
