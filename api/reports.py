"""Report readers for the HTTP API: read models, the position they reflect, read-your-writes.

Every report answers ``{"position": N, "rows": [...]}`` with the position of the log its
projection reflects. With ``min_position=N`` (the ``position`` a command answered), the
reader first waits briefly (up to :data:`READ_YOUR_WRITES_WAIT` seconds) for the projection
to fold N; if it has not by then, the answer carries ``"stale": true`` and the position it
did reach. Readers take the app's read side (:mod:`api.read_side`): its one projector serves
the live reports, and ``ledger serve`` runs that projector's live follower.

**Past views.** ``as_known_at`` (a time with its zone, e.g. ``2026-11-25T10:00:00Z``, or a
position from 1) and ``as_of`` (a date) ask for the report as the log stood then and as of
that business date: the report's projection is replayed by its own fold code into a
throw-away store (:func:`projections.replay.replay`), and the answer carries
``"view": {"as_known_at", "as_of", "position", "root_hash"}`` (``root_hash``: the Merkle
root of the log's first ``position`` events, to check against a signed checkpoint); a live
answer has no ``view``. A time
is resolved to the last position recorded by then, a position to the end of its command
(no reader ever saw half of one); finished replays are kept by the read side's cache
(:class:`~projections.replay_cache.ReplayCache`) by (projection, position, as_of). A time
without a zone, a time in the future, a position beyond the head and ``min_position`` with
either are 422s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from api import workbooks
from api.read_side import ReadSide
from ledger.access import Actor, may_read_personnel
from ledger.commands import (
    GIVE_A_DATE,
    BudgetYear,
    ChannelCode,
    DepartmentCode,
    ProjectCode,
    SourceCode,
)
from ledger.errors import FieldProblem, ValidationFailed
from ledger.messages import SEMICOLON, Joined, Message, Terms, ValidationMessage
from ledger.service import Ledger
from ledger.support_application import STATUSES
from projections import (
    audit_trail,
    budget_execution,
    checkpoints,
    department_activity,
    journal,
    program,
    project_spend,
    registers,
    target_progress,
)
from projections.base import Progress
from projections.checkpoints import root_at
from projections.evidence import AuditFilters
from projections.projector import Projector
from projections.replay import position_known_at, replay, whole_command_end
from projections.replay_cache import ReplayCache

READ_YOUR_WRITES_WAIT = 2.0


# -- query parameters ------------------------------------------------------------------------

#: what Python says of a date or time that does not exist, as a refusal names it
PYTHON_DATES = Terms(
    "date error",
    (
        "day is out of range for month",
        "month must be in 1..12",
        "hour must be in 0..23",
        "minute must be in 0..59",
        "second must be in 0..59",
    ),
)

_POSITION = r"0*[1-9][0-9]*"
_ZONE = r"[Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]"
_TIME = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,6})?)?"
)
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def known_at_value(value: Any) -> int | dt.datetime:
    """``as_known_at`` as given: a position (a whole number from 1) or a time with its zone
    (ISO 8601, e.g. ``2026-11-25T10:00:00Z``), made UTC."""
    if isinstance(value, int) and not isinstance(value, bool):
        position = value
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(Message("a time needs its time zone (Z for UTC)"))
        return value.astimezone(dt.UTC)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        position = int(value)
    elif isinstance(value, str) and (found := re.fullmatch(f"{_TIME}(?P<zone>{_ZONE})?", value)):
        if found["zone"] is None:
            raise ValueError(
                Message("a time needs its time zone: add Z for UTC, as in 2026-11-25T10:00:00Z")
            )
        try:
            moment = dt.datetime.fromisoformat(value.upper())
        except ValueError as error:
            raise ValueError(
                Message("not a valid time ({reason})", reason=PYTHON_DATES(str(error)))
            ) from None
        return moment.astimezone(dt.UTC)
    else:
        raise ValueError(
            Message(
                "give a time with its zone (ISO 8601, e.g. 2026-11-25T10:00:00Z) or a position "
                "(a whole number from 1)"
            )
        )
    if position < 1:
        raise ValueError(Message("a position is a whole number from 1"))
    return position


def as_of_value(value: Any) -> dt.date:
    """``as_of`` as given: a date, ``YYYY-MM-DD``."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(_DATE, value):
        raise ValueError(GIVE_A_DATE)
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(
            Message("not a valid date ({reason})", reason=PYTHON_DATES(str(error)))
        ) from None


KnownAt = Annotated[
    int | dt.datetime,
    PlainValidator(known_at_value),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^({_POSITION}|{_TIME}({_ZONE}))$",
            "description": "the report as the log stood then: a time with its zone (ISO 8601, "
            "e.g. 2026-11-25T10:00:00Z, on a day the calendar has: 31 November is refused; "
            "events recorded by then, whole commands) or a position from 1 (up to the end of "
            "that event's command); replayed, the answer's view says so",
        }
    ),
]
AsOf = Annotated[
    dt.date,
    PlainValidator(as_of_value),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": "the report as of this business date: events effective by then "
            "(a record whose first event is later is left out whole); replayed",
        }
    ),
]


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_position: int | None = Field(
        default=None, ge=0, description="wait briefly until the report reflects this position"
    )


class ViewQuery(ReportQuery):
    """A report's parameters with the past view: ``as_known_at`` and ``as_of``."""

    as_known_at: KnownAt | None = None
    as_of: AsOf | None = None

    @property
    def past(self) -> bool:
        return self.as_known_at is not None or self.as_of is not None


class SpendQuery(ViewQuery):
    budget_year: BudgetYear | None = None
    project: ProjectCode | None = None
    source: SourceCode | None = None
    channel: ChannelCode | None = None


class DepartmentQuery(ViewQuery):
    budget_year: BudgetYear | None = None
    department: DepartmentCode | None = None


class YearQuery(ViewQuery):
    budget_year: BudgetYear | None = None


#: how a report is answered: JSON, or an XLSX workbook (api/workbooks.py)
ReportFormat = Literal["json", "xlsx"]


class ProgramQuery(ViewQuery):
    """The program report's period: budget years ``from``–``to`` (one year: the annual
    report; 2011–2015: the mid-term review; 2011–2020: the final review)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: BudgetYear = Field(alias="from", description="the period's first budget year")
    to: BudgetYear = Field(description="the period's last budget year (from ≤ to)")
    format: ReportFormat = Field(default="json", description="json, or xlsx for a workbook")


class EstimateReportQuery(ViewQuery):
    #: from the path (``/api/reports/estimate/{budget_year}``), never the query string
    budget_year: SkipJsonSchema[BudgetYear | None] = None
    format: ReportFormat = Field(default="json", description="json, or xlsx for a workbook")


class ExecutionQuery(ViewQuery):
    budget_year: BudgetYear | None = Field(default=None, description="one year; all without")
    format: ReportFormat = Field(default="json", description="json, or xlsx for a workbook")


class AuditQuery(ViewQuery, AuditFilters):
    """The audit trail's filters (the exports take the same), a past view, paging."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=50, ge=1, le=500)


class ApplicationsQuery(ViewQuery):
    # a Literal of the lifecycle's tuple of statuses: pydantic reads it, mypy cannot
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    project: ProjectCode | None = None
    budget_year: BudgetYear | None = None
    enterprise_id: UUID | None = None
    q: str | None = Field(default=None, max_length=200)
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=50, ge=1, le=500)


# -- past views --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """Which past view an answer is: as given, and the last position of the log it reflects."""

    as_known_at: int | dt.datetime | None
    as_of: dt.date | None
    position: int

    def describe(self) -> dict[str, Any]:
        known = self.as_known_at
        return {
            "as_known_at": utc_text(known) if isinstance(known, dt.datetime) else known,
            "as_of": self.as_of.isoformat() if self.as_of is not None else None,
            "position": self.position,
        }

    def sentence(self) -> str:
        """One line for people: ``View: as known at …, as of … (log position N)``."""
        known = self.as_known_at
        if isinstance(known, dt.datetime):
            when = f"as known at {utc_text(known)}"
        elif known is not None:
            when = f"as known at position {known:,}"
        else:
            when = "as known now"
        dated = f"as of {self.as_of.isoformat()}" if self.as_of else "every effective date"
        return f"View: {when}, {dated} (log position {self.position:,}; replayed)"


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def refuse(name: str, message: Message) -> ValidationFailed:
    """A ``validation_error`` (422) naming the query parameter ``name``."""
    return ValidationFailed(
        Message("Field {name}: {message}.", name=name, message=message),
        errors=(FieldProblem(("query", name), message),),
    )


def resolve_view(
    ledger: Ledger,
    as_known_at: int | dt.datetime | None,
    as_of: dt.date | None,
    replays: ReplayCache | None = None,
) -> View:
    """The position a past view reflects: a time's last position recorded by then, a
    position's end of command, else the head. Refuses a position beyond the head and a time
    in the future (:class:`ValidationFailed` naming ``as_known_at``)."""
    head = ledger.position()
    if isinstance(as_known_at, dt.datetime):
        if as_known_at > dt.datetime.now(dt.UTC):
            raise refuse(
                "as_known_at", Message("{moment} is in the future", moment=utc_text(as_known_at))
            )
        if replays is not None:
            position = replays.position_known_at(ledger, as_known_at)
        else:
            position = position_known_at(ledger, as_known_at)
    elif as_known_at is not None:
        if as_known_at > head:
            raise refuse(
                "as_known_at",
                Message(
                    "position {position} is beyond the log's last ({head})",
                    position=as_known_at,
                    head=head,
                ),
            )
        position = whole_command_end(ledger, as_known_at)
    else:
        position = head
    return View(as_known_at, as_of, position)


# -- readers -------------------------------------------------------------------------------

Body = Callable[[Any, dict[str, Any]], dict[str, Any]]


def _read(
    read_side: ReadSide,
    name: str,
    params: ReportQuery | None,
    read: Body,
    key: Hashable | None = None,
) -> dict[str, Any]:
    """The report read live (or as its past view asks). With ``key`` (what, besides the
    position, makes the answer: the report, its parameters, whether personnel data may be
    read), an answer already made at the read model's position is given again."""
    if isinstance(params, ViewQuery) and params.past:
        return _read_past(read_side, name, params, read)
    projector = read_side.projector
    wanted = params.min_position if params is not None else None
    if wanted is not None:
        projector.wait_for(name, wanted, timeout=READ_YOUR_WRITES_WAIT)
    answer: dict[str, Any] | None = None
    if key is None:
        with projector.reading(name) as (connection, tables, position):
            answer = {"position": position, **read(connection, tables)}
    else:
        at = (key, projector.position(name))
        with read_side.answers.making(at):
            answer = read_side.answers.get(at)
            if answer is None:
                with projector.reading(name) as (connection, tables, position):
                    answer = {"position": position, **read(connection, tables)}
                read_side.answers.put((key, position), answer)
    assert answer is not None
    answer = dict(answer)  # the kept one is never changed
    if wanted is not None and answer["position"] < wanted:
        answer["stale"] = True
    return answer


def _read_past(read_side: ReadSide, name: str, q: ViewQuery, read: Body) -> dict[str, Any]:
    """The report replayed as the view asks (a finished replay is read again from the
    read side's cache)."""
    if q.min_position is not None:
        raise refuse(
            "min_position",
            Message(
                "not with as_known_at or as_of: it waits for the live report, a past view is "
                "replayed from the log"
            ),
        )
    ledger, replays = read_side.ledger, read_side.replays
    view = resolve_view(ledger, q.as_known_at, q.as_of, replays)
    with replays.reading(ledger, name, view.position, view.as_of) as (connection, tables, at):
        answer = {"position": at, "view": view.describe(), **read(connection, tables)}
    answer["view"]["root_hash"] = log_root(read_side.projector, at)
    return answer


def log_root(projector: Projector, size: int) -> str | None:
    """The Merkle root (hex) of the log's first ``size`` events: what ties a past view to a
    signed checkpoint (``GET /api/audit/proofs/consistency?first=size&second=…``). None
    when the tree cannot hold that many events."""
    found = root_at(projector, size)
    return found.hex() if found is not None else None


def _spend(q: SpendQuery, _personnel: bool) -> Body:
    filters = (q.budget_year, q.project, q.source, q.channel)
    return lambda c, t: {
        "rows": project_spend.report(c, t, *filters),
        "counterpart": project_spend.counterpart(c, t, *filters),
        "applications": project_spend.applications(c, t, q.budget_year, q.project),
    }


def _department(q: DepartmentQuery, _personnel: bool) -> Body:
    return lambda c, t: {"rows": department_activity.report(c, t, q.budget_year, q.department)}


def _targets(q: YearQuery, _personnel: bool) -> Body:
    return lambda c, t: {"rows": target_progress.report(c, t, q.budget_year)}


def _audit(q: AuditQuery, personnel: bool) -> Body:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, next_page = audit_trail.report(
            c,
            t,
            record_id=q.record_id,
            actor=q.actor,
            department=q.department,
            event_type=q.event_type,
            from_=q.from_,
            to=q.to,
            order=q.order,
            page=q.page,
            page_size=q.page_size,
            personnel=personnel,
        )
        return {"rows": rows, "next_page": next_page}

    return read


def _trial_balance(q: YearQuery, _personnel: bool) -> Body:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, total_debit, total_credit = journal.trial_balance(c, t, q.budget_year)
        return {"rows": rows, "total_debit": total_debit, "total_credit": total_credit}

    return read


def _applications(q: ApplicationsQuery, _personnel: bool) -> Body:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, next_page = registers.applications(
            c,
            t,
            status=q.status,
            project=q.project,
            budget_year=q.budget_year,
            enterprise_id=q.enterprise_id,
            q=q.q,
            page=q.page,
            page_size=q.page_size,
        )
        return {"rows": rows, "next_page": next_page}

    return read


def _program(q: ProgramQuery, _personnel: bool) -> Body:
    if q.from_ > q.to:
        raise refuse(
            "to",
            Message("the period ends ({to}) before it begins ({begins})", to=q.to, begins=q.from_),
        )
    return lambda c, t: {
        "period": program.period(q.from_, q.to),
        **program.report(c, t, q.from_, q.to),
    }


def _estimate(q: EstimateReportQuery, _personnel: bool) -> Body:
    assert q.budget_year is not None, "the year comes from the path"
    year = q.budget_year
    return lambda c, t: budget_execution.estimate_report(c, t, year)


def _execution(q: ExecutionQuery, _personnel: bool) -> Body:
    return lambda c, t: budget_execution.execution_report(c, t, q.budget_year)


@dataclass(frozen=True, slots=True)
class Report:
    """A report by the name ``ledger replay`` takes: its projection, parameters and body."""

    projection: str
    query: type[ViewQuery]
    #: (the parameters, whether personnel data may be read) → what reads the report
    body: Callable[[Any, bool], Body]
    #: whether the answer names the Merkle root and signed checkpoint its figures come from
    evidence: bool = False


REPORTS: dict[str, Report] = {
    "project-spend": Report("project_spend", SpendQuery, _spend),
    "department-activity": Report("department_activity", DepartmentQuery, _department),
    "targets": Report("target_progress", YearQuery, _targets),
    "audit-trail": Report("audit_trail", AuditQuery, _audit),
    "trial-balance": Report("journal", YearQuery, _trial_balance),
    "applications": Report("registers", ApplicationsQuery, _applications),
    "program": Report("program", ProgramQuery, _program, evidence=True),
    "estimate": Report("budget_execution", EstimateReportQuery, _estimate, evidence=True),
    "execution": Report("budget_execution", ExecutionQuery, _execution, evidence=True),
}


def reader(report: str) -> Callable[[ReadSide, Any, Any, Actor | None], dict[str, Any]]:
    """The HTTP reader of ``report``: its projection, read live or as the view asks, as
    ``actor`` may read it (``ledger.access.may_read_personnel``)."""
    chosen = REPORTS[report]

    def read(read_side: ReadSide, path: Any, q: Any, actor: Actor | None) -> Any:
        q = with_path(q, path)
        personnel = may_read_personnel(actor)
        body = chosen.body(q, personnel)
        key = (report, q.model_copy(update={"min_position": None}), personnel)
        answer = _read(read_side, chosen.projection, q, body, key)
        if chosen.evidence:
            answer["evidence"] = evidence_of(read_side.projector, answer, read_side.roots)
        if getattr(q, "format", "json") == "xlsx":
            return workbooks.download(report, answer)
        return answer

    return read


def with_path(q: Any, path: Any) -> Any:
    """The query with the path's parameters (the estimate report's year) set in it,
    validated as the query's fields are; a problem is the path's."""
    if not path:
        return q
    twice = sorted(set(path) & q.model_fields_set)
    if twice:
        raise refuse(twice[0], Message("it is given in the path, not the query"))
    given = {**q.model_dump(exclude_unset=True, by_alias=True), **dict(path)}
    try:
        return type(q).model_validate(given)
    except ValidationError as error:
        problems = tuple(
            FieldProblem(("path", str(p["loc"][0])), ValidationMessage(p))
            for p in error.errors(include_url=False)
        )
        said = [Message("Path parameter {name}: {msg}", name=p.loc[1], msg=p.msg) for p in problems]
        raise ValidationFailed(
            Message("{problems}.", problems=Joined(said, SEMICOLON)), errors=problems
        ) from None


def evidence_of(
    projector: Projector, answer: dict[str, Any], roots: dict[int, str | None] | None = None
) -> dict[str, Any]:
    """Where a report's figures come from: the log's first ``position`` events, their Merkle
    root, and the newest signed checkpoint of at most that many events (null before the
    first), as the evidence exports name them."""
    position = answer["position"]
    view = answer.get("view")
    if view is not None:
        root = view["root_hash"]
    elif roots is not None and roots.get(position) is not None:
        root = roots[position]
    else:
        root = log_root(projector, position)
        if roots is not None and root is not None and len(roots) < 4096:
            roots[position] = root
    with projector.engine.connect() as connection:
        found = checkpoints.latest(connection, position)
    checkpoint = found.to_json() if found is not None else None
    return {"position": position, "root_hash": root, "checkpoint": checkpoint}


project_spend_report = reader("project-spend")
department_activity_report = reader("department-activity")
targets_report = reader("targets")
audit_trail_report = reader("audit-trail")
trial_balance_report = reader("trial-balance")
applications_report = reader("applications")
program_report = reader("program")
estimate_report = reader("estimate")
execution_report = reader("execution")


def replay_report(
    ledger: Ledger,
    report: str,
    q: ViewQuery,
    progress: Progress | None = None,
    view: View | None = None,
) -> dict[str, Any]:
    """Report ``report`` replayed from the log into a throw-away store as ``q``'s view asks
    (as known now without ``as_known_at``), for ``ledger replay``: the same answer as the
    endpoint's, without the cache (and with a projector of its own for the Merkle root).
    ``view``: ``q``'s, already resolved."""
    chosen = REPORTS[report]
    view = view or resolve_view(ledger, q.as_known_at, q.as_of)
    past = replay(
        ledger,
        upto_position=view.position,
        as_of=view.as_of,
        names=[chosen.projection],
        progress=progress,
    )
    try:
        tables = past.tables(past.classes[chosen.projection], "a")
        with past.engine.connect() as connection:
            body = chosen.body(q, True)(connection, tables)  # the server's own command line
        at = past.position(chosen.projection)
        described = {**view.describe(), "root_hash": log_root(Projector(ledger), at)}
        return {"position": at, "view": described, **body}
    finally:
        past.engine.dispose()
