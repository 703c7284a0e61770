"""The route table: every address the server answers, in one place.

Each row (an :class:`api.endpoints.Endpoint`) says the method, the path, what runs (a
command of ``ledger.commands`` or a reader), who may call it and the status of a success.
The same table drives the dispatch (``api.app``) and the OpenAPI document (``api.openapi``),
so they cannot drift.

Path parameters are named after the command fields they fill (``application_id``, …) and use
Starlette's ``uuid`` convertor: a malformed id never reaches a handler (404).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api import (
    admin,
    audit,
    exports,
    health,
    openapi,
    program_answers,
    records,
    report_answers,
    reports,
    workbooks,
)
from api.answers import ACTOR_NAME, DEPARTMENT_NAME, AvailableOut, FundingOut, Out
from api.endpoints import Download, Endpoint, Reader, WrittenOut, command, query
from api.read_side import ReadSide
from ledger import commands as c
from ledger.access import PERSONNEL_READERS, Actor, may_read_personnel
from ledger.commands import (
    BudgetYear,
    ChannelCode,
    IsoDate,
    ProjectCode,
    SourceCode,
    SupportTypeCode,
)
from ledger.service import GrantedAccess, Written
from projections import evidence, fiscal_data, iati

# -- answers (documented in the OpenAPI document; ``extra="forbid"`` keeps them exact) ------


class GrantedOut(Out):
    """A new user and its bearer token, shown this once (a replay answers ``token: null``)."""

    id: UUID
    token: str | None
    position: int


class EnterpriseOut(Out):
    id: UUID
    tax_code: str
    name: str
    district: str
    sector: str
    size: str
    version: int


class BudgetLineOut(AvailableOut):
    """A city-budget line of one budget year × project × channel, in đồng."""

    id: UUID
    budget_year: int
    project: str
    source: Literal["city_budget"]
    channel: str


class DisbursementOut(Out):
    id: UUID
    kind: Literal["advance", "payment"]
    amount: int
    voucher_no: str
    reversed: bool


class RecoveryOut(Out):
    id: UUID
    amount: int
    received: bool


class CounterpartOut(Out):
    enterprise: int
    other: int


class ApplicationOut(Out):
    id: UUID
    dossier_no: str
    status: str
    enterprise_id: UUID
    project: str
    support_type: str
    title: str
    total_cost: int
    requested: FundingOut
    recommended: FundingOut | None
    approved: FundingOut | None
    budget_year: int | None
    channel: str | None = Field(description="the city-budget channel the approval drew on")
    drawing_year: int | None = Field(
        description="the budget year whose line holds the commitment now: the approval's, "
        "or a later one after a year close carried it over"
    )
    contract_no: str | None
    disbursed: int
    recovery_ordered: int
    recovered: int
    acceptance_result: Literal["passed", "failed"] | None
    outputs: dict[str, int]
    counterpart_spent: CounterpartOut | None = Field(
        description="what the enterprise and other sources spent, as found at acceptance"
    )
    disbursements: list[DisbursementOut]
    recoveries: list[RecoveryOut]
    version: int


class HistoryChangeOut(Out):
    """One value an event changed, as ``GET /api/applications/{id}`` shows it."""

    from_: Any = Field(alias="from", description="the value just before the event (null: none)")
    to: Any = Field(description="the value just after the event (null: none)")


class HistoryEntryOut(Out):
    """One event of an application's history (README), with its leaf hash and changes."""

    position: int = Field(description="global position of the event (the events table's id)")
    recorded_at: dt.datetime = Field(description="when the store recorded the event (UTC)")
    effective_date: dt.date = Field(description="the business date on the decision or voucher")
    type: str = Field(description="event type, e.g. Approved")
    actor: str = Field(description="user id of the actor")
    actor_name: str | None = Field(description=ACTOR_NAME)
    department: str = Field(description="the actor's department")
    department_name: str | None = Field(description=DEPARTMENT_NAME)
    data: dict[str, Any] = Field(description="the event's own fields (ids and dates as strings)")
    leaf_hash: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="lowercase hex of the RFC 9162 leaf hash of the stored event: SHA-256 of "
        "0x00 and the canonical JSON of the row as stored (ledger/merkle.py)",
    )
    changes: dict[str, HistoryChangeOut] = Field(
        description="what the event changed in the application's state as "
        "GET /api/applications/{id} shows it (ids as strings, money as integer đồng), "
        'keyed by path, each {"from": old, "to": new}; only what changed, never version. '
        'The first event has every non-null field, "from" null. Lists of items with ids '
        "(disbursements, recoveries) change per item: disbursements[<id>] for an item added "
        '("from" null, "to" the whole item) or removed ("to" null), and '
        "disbursements[<id>].reversed (recoveries[<id>].received, ...) for one value of an "
        "existing item"
    )


class ActivityOut(Out):
    id: UUID
    department: str
    project: str
    kind: str
    title: str
    budget_year: int
    channel: str
    drawing_year: int = Field(description="the budget year whose line holds the commitment now")
    budget: int
    spent: int
    status: str
    version: int


class UserOut(Out):
    id: UUID
    name: str
    role: str
    department: str
    active: bool


class BudgetLineQuery(BaseModel):
    """Filters of ``GET /api/budget-lines`` (each optional; an empty value means no filter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_year: BudgetYear | None = None
    project: ProjectCode | None = None
    source: SourceCode | None = None
    channel: ChannelCode | None = None


class SupportRuleQuery(BaseModel):
    """Filters of ``GET /api/support-rules``: a support type, and ``on`` a date for the rule
    in force then."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    support_type: SupportTypeCode | None = None
    on: IsoDate | None = None


class LegalBasisOut(Out):
    document_no: str
    signed_on: dt.date


class SupportRuleOut(Out):
    """A support rule: the most the city budget pays of one support type."""

    id: UUID
    support_type: str
    max_share_percent: int = Field(description="of the application's total cost")
    max_amount: int = Field(description="đồng")
    legal_basis: LegalBasisOut
    effective_from: dt.date = Field(description="in force from this date until the next rule's")


class YearClosedOut(WrittenOut):
    """What a year close answers: the totals of this close."""

    carried_out: int = Field(description="committed but unpaid, carried over to the next year")
    cancelled: int = Field(description="uncommitted, cancelled (hủy dự toán)")


class BudgetYearOut(AvailableOut):
    """A budget year: open or closed, and the totals of its city-budget lines."""

    budget_year: int
    status: Literal["open", "closed"]
    closed_on: dt.date | None


class JustificationOut(Out):
    """One input of a draft line: its name, the amount it brings, the figures it comes from."""

    input: str = Field(
        description="pipeline, needs, activities, target:<code>; beside a line: unpaid_commitments"
    )
    amount: int = Field(description="đồng")
    detail: str


class DraftLineOut(Out):
    """A proposed line: ``amount`` is the sum of its justification's amounts; what is beside
    it (``informational``) is shown and not added."""

    project: str
    source: Literal["city_budget"]
    channel: str
    amount: int = Field(description="đồng")
    justification: list[JustificationOut]
    informational: list[JustificationOut]


class DraftOut(WrittenOut):
    """What a draft answers: its version, the position of the log its figures were read at,
    and its lines."""

    version: int
    read_at: int = Field(description="the position of the log the read models were read at")
    lines: list[DraftLineOut]


class NeedOut(Out):
    id: UUID
    department: str = Field(description="the reporting officer's department")
    project: str
    support_type: str
    enterprises: int
    amount: int
    note: str | None
    reported_on: dt.date


class DraftVersionOut(Out):
    version: int
    prepared_on: dt.date
    prepared_by: str = Field(description="user id")
    position: int = Field(description="the position of the log its figures were read at")
    lines: list[DraftLineOut]


class ReturnOut(Out):
    returned_on: dt.date
    reason: str


class AppraisedLineOut(Out):
    project: str
    source: Literal["city_budget"]
    channel: str
    drafted: int | None = Field(description="the draft's amount; null: a line the draft lacks")
    amount: int = Field(description="the appraised amount")
    change: int = Field(description="amount − drafted")
    reason: str | None


class AppraisalOut(Out):
    appraised_on: dt.date
    appraised_by: str = Field(description="user id")
    draft_version: int
    lines: list[AppraisedLineOut]


class ApprovedLineOut(Out):
    project: str
    source: Literal["city_budget"]
    channel: str
    amount: int


class ApprovalOut(Out):
    decision_no: str
    decided_on: dt.date
    approved_by: str = Field(description="user id")
    lines: list[ApprovedLineOut] = Field(description="the lines assigned, amount > 0")


class EstimateOut(Out):
    """The annual estimate of a year, stage by stage."""

    id: UUID
    budget_year: int
    status: Literal["collecting", "drafted", "returned", "appraised", "approved"]
    needs: list[NeedOut]
    drafts: list[DraftVersionOut] = Field(description="every draft version, oldest first")
    returns: list[ReturnOut]
    appraisal: AppraisalOut | None
    approval: ApprovalOut | None
    budget_lines: list[BudgetLineOut] = Field(
        description="the budget lines the approval assigned, as they stand now"
    )


def _drafted(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    assert isinstance(result, Written)
    body = {"id": str(result.id), "position": result.position, **result.extra}
    return body, body


def _closed(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    assert isinstance(result, Written)
    body = {"id": str(result.id), "position": result.position, **result.extra}
    return body, body


# -- the table -----------------------------------------------------------------------------


def _granted(result: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    # The token is stored nowhere but in the user's hands (only its hash is in the ledger):
    # the stored answer a replay returns leaves it out.
    assert isinstance(result, GrantedAccess)
    sent = {"id": str(result.user_id), "token": result.token, "position": result.position}
    return sent, {**sent, "token": None}


# -- files (evidence exports) -----------------------------------------------------------------


class AuditExportQuery(reports.ReportQuery, evidence.AuditFilters):
    """The audit-trail report's filters and ``min_position``, without paging: an export holds
    every page."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _audit_export(fmt: evidence.Format) -> Reader:
    def read(
        read_side: ReadSide, _: Mapping[str, Any], q: AuditExportQuery, actor: Actor | None
    ) -> Download:
        projector = read_side.projector
        if q.min_position is not None:
            projector.wait_for(evidence.NAME, q.min_position, reports.READ_YOUR_WRITES_WAIT)
        # closed by api.app once sent; in memory up to 8 MiB, then on disk
        file = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        try:
            done = evidence.export(
                projector,
                file,
                fmt,
                q,
                min_position=q.min_position,
                personnel=may_read_personnel(actor),
            )
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return Download(file, done.filename, evidence.MEDIA_TYPES[fmt])

    return read


APP = "/api/applications/{application_id:uuid}"
#: the reports' past views (api/reports.py): live answers have no "view"
PAST = (
    "; as_known_at (a time with its zone, or a position) and as_of (a date) answer a "
    'past view, replayed from the log, whose "view" says which'
)
ENT = "/api/enterprises/{enterprise_id:uuid}"
ACT = "/api/activities/{activity_id:uuid}"
EST = "/api/estimates/{budget_year:int}"
ADMIN = frozenset({"admin"})
AUDITORS = frozenset({"inspector", "finance"})

# The route table: one row per address, read as a table (address, action, reader or
# command, summary, tag, answer, roles), so the formatter leaves its layout alone.
# fmt: off
ENDPOINTS: tuple[Endpoint, ...] = (
    # -- service ---------------------------------------------------------------------------
    query("/openapi.json", "openapi", lambda side, p, q, _: openapi.document(ENDPOINTS),
          "This OpenAPI 3.1 document", "service", dict[str, Any], public=True),
    query("/api/health", "health", health.health,
          "Health: the database, the head of the log, each projection's lag and the "
          "background workers' state", "service", health.HealthOut, public=True),
    query("/api/health/ready", "ready", health.ready,
          "Readiness: 200 while current answers can be served; 503 not_ready while the live "
          "projections are dead or failing, or lag more than LEDGER_READY_MAX_LAG events",
          "service", health.ReadyOut, public=True),
    # -- enterprises -------------------------------------------------------------------------
    command("POST", "/api/enterprises", c.RegisterEnterprise,
            "Register an enterprise by its tax code", "enterprises", 201),
    query(ENT, "get_enterprise",
          lambda side, p, q, _: side.ledger.get_enterprise(p["enterprise_id"]),
          "An enterprise", "enterprises", EnterpriseOut),
    command("POST", ENT + "/correction", c.CorrectEnterprise,
            "Correct an enterprise's name, district, sector or size", "enterprises"),
    # -- budget lines ------------------------------------------------------------------------
    command("POST", "/api/budget-lines", c.AssignBudget,
            "Assign a city-budget line (a second call for the same line adds to it)",
            "budget lines", 201),
    query("/api/budget-lines", "get_budget_lines", records.budget_lines,
          "City-budget lines, filtered by year, project, source and channel", "budget lines",
          list[BudgetLineOut], params=BudgetLineQuery),
    command("POST", "/api/budget-lines/reduction", c.ReduceBudget,
            "Reduce a budget line by decision (not below what it has committed)",
            "budget lines"),
    # -- budget years ------------------------------------------------------------------------
    command("POST", "/api/budget-years/{budget_year:int}/close", c.CloseBudgetYear,
            "Close a budget year: carry committed-but-unpaid money over to the next year, "
            "cancel the rest", "budget years", response=YearClosedOut, answer=_closed),
    command("POST", "/api/budget-years/{budget_year:int}/reopen", c.ReopenBudgetYear,
            "Reopen a closed budget year, with a reason", "budget years"),
    query("/api/budget-years", "get_budget_years",
          lambda side, p, q, _: side.ledger.get_budget_years(),
          "Each budget year: open or closed, and its lines' totals", "budget years",
          list[BudgetYearOut]),
    # -- support rules -----------------------------------------------------------------------
    command("POST", "/api/support-rules", c.AddSupportRule,
            "Set a support rule for a support type from a date", "support rules", 201),
    query("/api/support-rules", "get_support_rules",
          lambda side, p, q, _: side.ledger.get_support_rules(q.support_type, q.on),
          "Support rules, newest first; with on, the rule in force on that date",
          "support rules", list[SupportRuleOut], params=SupportRuleQuery),
    # -- annual estimates ----------------------------------------------------------------------
    command("POST", EST + "/needs", c.ReportNeeds,
            "Report a department's needs for the year's estimate (its own department)",
            "estimates", 201),
    command("POST", EST + "/draft", c.DraftEstimate,
            "Draft the estimate from the read models and the needs (SKHCN officers); "
            "redrafting before the appraisal makes a new version", "estimates",
            response=DraftOut, answer=_drafted,
            prepare=lambda ledger, cmd: ledger.prepared_draft(cmd.budget_year)),
    command("POST", EST + "/appraisal", c.AppraiseEstimate,
            "Appraise the latest draft: lines not listed keep the draft's amount; every "
            "change needs a reason", "estimates"),
    command("POST", EST + "/return", c.ReturnEstimate,
            "Return the draft for redrafting, with the reason", "estimates"),
    command("POST", EST + "/approval", c.ApproveEstimate,
            "Approve the appraised estimate: assigns the year's budget lines (same "
            "transaction)", "estimates"),
    query(EST, "get_estimate",
          lambda side, p, q, _: side.ledger.get_estimate(p["budget_year"]),
          "A year's estimate: status, needs, drafts, returns, appraisal, approval and the "
          "budget lines it assigned", "estimates", EstimateOut),
    query("/api/estimates", "get_estimates",
          lambda side, p, q, _: side.ledger.get_estimates(),
          "Every year's estimate, oldest first", "estimates", list[EstimateOut]),
    # -- applications ------------------------------------------------------------------------
    command("POST", "/api/applications", c.SubmitApplication,
            "Submit a support application", "applications", 201),
    query(APP, "get_application", records.application,
          "An application's current state", "applications", ApplicationOut),
    query(APP + "/history", "get_application_history",
          lambda side, p, q, who: side.ledger.get_application_history(
              p["application_id"], personnel=may_read_personnel(who)),
          "An application's events, oldest first", "applications", list[HistoryEntryOut]),
    command("POST", APP + "/return", c.ReturnApplication,
            "Return an application to the enterprise for completion", "applications"),
    command("POST", APP + "/resubmission", c.ResubmitApplication,
            "Resubmit a returned application", "applications"),
    command("POST", APP + "/appraisal", c.AppraiseApplication,
            "Appraise an application", "applications"),
    command("POST", APP + "/approval", c.ApproveApplication,
            "Approve an application (SKHCN officers; commits the city-budget share)",
            "applications"),
    command("POST", APP + "/rejection", c.RejectApplication,
            "Reject an application", "applications"),
    command("POST", APP + "/withdrawal", c.WithdrawApplication,
            "Record the enterprise's withdrawal of its application", "applications"),
    command("POST", APP + "/contract", c.SignContract,
            "Record the signed support contract", "applications"),
    command("POST", APP + "/disbursements", c.RecordDisbursement,
            "Record an advance or payment of city-budget money", "applications", 201),
    command("POST", APP + "/disbursements/{disbursement_id:uuid}/reversal",
            c.ReverseDisbursement, "Reverse a payment", "applications"),
    command("POST", APP + "/acceptance", c.RecordAcceptance,
            "Record the acceptance (nghiệm thu) and its outputs", "applications"),
    command("POST", APP + "/settlement", c.SettleApplication,
            "Settle an accepted application (releases the unused commitment)", "applications"),
    command("POST", APP + "/cancellation", c.CancelApplication,
            "Cancel an application (releases the commitment)", "applications"),
    command("POST", APP + "/recoveries", c.OrderRecovery,
            "Order the recovery of money paid out", "applications", 201),
    command("POST", APP + "/recoveries/{recovery_id:uuid}/receipt", c.ReceiveRecovery,
            "Record the receipt of recovered money", "applications"),
    # -- program activities ------------------------------------------------------------------
    command("POST", "/api/activities", c.ApproveActivity,
            "Approve a department-run activity (commits its budget)", "activities", 201),
    query(ACT, "get_activity",
          lambda side, p, q, _: side.ledger.get_activity(p["activity_id"]),
          "A program activity", "activities", ActivityOut),
    command("POST", ACT + "/spending", c.RecordActivitySpending,
            "Record an activity's spending", "activities", 201),
    command("POST", ACT + "/completion", c.CompleteActivity,
            "Complete an activity (releases what was not spent)", "activities"),
    # -- users -------------------------------------------------------------------------------
    command("POST", "/api/users", c.GrantAccess,
            "Grant access: create a user and its bearer token", "users", 201,
            response=GrantedOut, answer=_granted),
    query("/api/users", "list_users", lambda side, p, q, _: side.ledger.list_users(),
          "Every user (personnel data: admins and inspectors)", "users", list[UserOut],
          roles=PERSONNEL_READERS),
    command("POST", "/api/users/{user_id:uuid}/revocation", c.RevokeAccess,
            "Revoke a user's access", "users"),
    command("POST", "/api/users/{user_id:uuid}/change", c.ChangeUser,
            "Rename a user or move them to another department (the events recorded before "
            "keep the name and department in force then)", "users"),
    # -- reports (read models; see api/reports.py for min_position and "stale") -------------
    query("/api/reports/project-spend", "report_project_spend", reports.project_spend_report,
          "Spend per budget year × project × source, applications by status" + PAST, "reports",
          report_answers.SpendReportOut, params=reports.SpendQuery),
    query("/api/reports/department-activity", "report_department_activity",
          reports.department_activity_report,
          "Activity per department × budget year" + PAST, "reports",
          report_answers.DepartmentReportOut, params=reports.DepartmentQuery),
    query("/api/reports/targets", "report_targets", reports.targets_report,
          "Progress to the program's eight targets" + PAST, "reports",
          report_answers.TargetsReportOut, params=reports.YearQuery),
    query("/api/reports/audit-trail", "report_audit_trail", reports.audit_trail_report,
          "The audit trail: one row per event, filtered and paged" + PAST, "reports",
          report_answers.AuditTrailReportOut, params=reports.AuditQuery),
    query("/api/reports/audit-trail.xlsx", "export_audit_trail_xlsx", _audit_export("xlsx"),
          "The audit trail as an XLSX file: every page, and the checkpoint it agrees with "
          "(projections/evidence.py)", "reports", bytes, params=AuditExportQuery,
          media_type=evidence.MEDIA_TYPES["xlsx"]),
    query("/api/reports/audit-trail.csv", "export_audit_trail_csv", _audit_export("csv"),
          "The audit trail as CSV (UTF-8 with BOM; leading '#' lines name the position, "
          "filters and checkpoint; projections/evidence.py)", "reports", str,
          params=AuditExportQuery, media_type="text/csv"),
    query("/api/reports/trial-balance", "report_trial_balance", reports.trial_balance_report,
          "Trial balance of the journal per budget year" + PAST, "reports",
          report_answers.TrialBalanceOut, params=reports.YearQuery),
    query("/api/reports/program", "report_program", reports.program_report,
          "The program report for budget years from–to: the annual report (from = to), the "
          "mid-term review (2011–2015), the final review (2011–2020): targets, support, money, "
          "department activities and the Merkle root they come from; format=xlsx for a "
          "workbook" + PAST, "reports", program_answers.ProgramReportOut,
          params=reports.ProgramQuery, alternatives=(workbooks.MEDIA_TYPE,)),
    query("/api/reports/estimate/{budget_year:int}", "report_estimate", reports.estimate_report,
          "A year's estimate as Sở Tài chính appraises it (proposed, appraised with reasons, "
          "approved) beside the year before's execution; format=xlsx for a workbook" + PAST,
          "reports", program_answers.EstimateReportOut, params=reports.EstimateReportQuery,
          alternatives=(workbooks.MEDIA_TYPE,)),
    query("/api/reports/budget-execution", "report_budget_execution", reports.execution_report,
          "Budget execution per budget year × project × source × channel, from the estimate "
          "to what was carried over and cancelled; format=xlsx for a workbook" + PAST,
          "reports", program_answers.ExecutionReportOut, params=reports.ExecutionQuery,
          alternatives=(workbooks.MEDIA_TYPE,)),
    # -- open data (api/exports.py) ---------------------------------------------------------
    query("/api/exports/iati.xml", "export_iati", exports.iati_xml,
          "The program as IATI 2.03 activity XML: one activity per project, budgets from the "
          "approved estimates, commitments, disbursements, expenditure (projections/iati.py)",
          "open data", str, params=exports.ExportQuery, media_type=iati.MEDIA_TYPE),
    query("/api/exports/fiscal-data-package.zip", "export_fiscal_data_package",
          exports.fiscal_data_package,
          "The budget as a Fiscal Data Package (datapackage.json and budget.csv in a ZIP): "
          "proposed, approved, adjusted and executed by year, project, source, channel and "
          "department (projections/fiscal_data.py)", "open data", bytes,
          params=exports.ExportQuery, media_type=fiscal_data.MEDIA_TYPE),
    query("/api/applications", "list_applications", reports.applications_report,
          "Applications from the register, filtered and paged" + PAST, "applications",
          report_answers.ApplicationsPageOut, params=reports.ApplicationsQuery),
    # -- audit (api/audit.py): the Merkle log, signed checkpoints, proofs, verification ------
    query("/api/audit/public-key", "audit_public_key", audit.public_key,
          "The Ed25519 public key that signs checkpoints", "audit", audit.PublicKeyOut,
          public=True),
    Endpoint("POST", "/api/audit/checkpoints",
             "Sign the Merkle tree at the head of the log (a C2SP checkpoint) and keep it",
             "audit", "make_checkpoint", 201, read=audit.make_checkpoint, roles=AUDITORS,
             response=audit.CheckpointOut),
    query("/api/audit/checkpoints", "list_checkpoints", audit.list_checkpoints,
          "Every signed checkpoint, oldest first", "audit", list[audit.CheckpointOut]),
    query("/api/audit/proofs/inclusion", "inclusion_proof", audit.inclusion_proof,
          "RFC 9162 inclusion proof of the event at a position in a tree of a size", "audit",
          audit.InclusionOut, params=audit.InclusionQuery),
    query("/api/audit/proofs/consistency", "consistency_proof", audit.consistency_proof,
          "RFC 9162 consistency proof between two tree sizes", "audit", audit.ConsistencyOut,
          params=audit.ConsistencyQuery),
    query("/api/audit/verify", "verify_log", audit.verification,
          "Recompute every leaf; compare with the stored tree and every checkpoint", "audit",
          audit.VerificationOut, roles=AUDITORS),
    # -- administration ------------------------------------------------------------------------
    query("/api/admin/projections", "projections_status", admin.projections_status,
          "Each projection's position, lag, last error and rebuild state", "admin",
          list[admin.ProjectionStatusOut], roles=ADMIN),
    Endpoint("POST", "/api/admin/projections/{name:str}/rebuild",
             "Rebuild a projection into fresh tables, then switch readers (in the background)",
             "admin", "rebuild_projection", read=admin.start_rebuild, roles=ADMIN,
             response=admin.RebuildStartedOut),
)
# fmt: on
