"""registers: the current state of every application, enterprise, program activity and budget
line, one row each, so lists and record pages never load an aggregate.

An application's row holds what ``Ledger.get_application`` answers (its payments and
recovery orders included), plus the enterprise's name (kept current through corrections)
and a case-folded search text of dossier number, title and enterprise name. ``year`` is the
budget year, or the year of submission until an approval fixes the budget year (as in
project_spend): the ``budget_year`` filter of the list reads it.
"""

from __future__ import annotations

import unicodedata
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    or_,
    select,
    update,
)

from ledger import catalogue
from ledger.budget_line import BUDGET_LINES, BudgetLine, LineMoved, changes
from ledger.budget_line import FIGURES as BUDGET_LINE_FIGURES
from ledger.enterprise import Enterprise
from ledger.program_activity import ProgramActivity
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef, as_uuid, equal_to

NAME = "registers"

APPLICATIONS = TableDef(
    "register_applications",
    ("id",),
    lambda name, md: Table(
        name,
        md,
        Column("id", Uuid, primary_key=True),
        Column("dossier_no", String(64), nullable=False),
        Column("enterprise_id", Uuid, nullable=False),
        Column("enterprise_name", Text, nullable=False),
        Column("project", String(8), nullable=False),
        Column("support_type", String(48), nullable=False),
        Column("title", Text, nullable=False),
        Column("status", String(24), nullable=False),
        Column("total_cost", BIGINT, nullable=False),
        Column("requested", JSON, nullable=False),
        Column("recommended", JSON, nullable=True),
        Column("approved", JSON, nullable=True),
        Column("budget_year", Integer, nullable=True),
        Column("channel", String(24), nullable=True),
        Column("drawing_year", Integer, nullable=True),
        Column("year", Integer, nullable=False),
        Column("submitted_on", Date, nullable=False),
        Column("contract_no", String(64), nullable=True),
        Column("disbursed", BIGINT, nullable=False),
        Column("recovery_ordered", BIGINT, nullable=False),
        Column("recovered", BIGINT, nullable=False),
        Column("acceptance_result", String(16), nullable=True),
        Column("outputs", JSON, nullable=False),
        Column("counterpart_spent", JSON, nullable=True),
        Column("disbursements", JSON, nullable=False),
        Column("recoveries", JSON, nullable=False),
        Column("search", Text, nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_position", BIGINT, nullable=False),
        Index(f"ix_{name}_submitted", "submitted_on", "dossier_no"),
        Index(f"ix_{name}_enterprise", "enterprise_id"),
    ),
)

ENTERPRISES = TableDef(
    "register_enterprises",
    ("id",),
    lambda name, md: Table(
        name,
        md,
        Column("id", Uuid, primary_key=True),
        Column("tax_code", String(16), nullable=False),
        Column("name", Text, nullable=False),
        Column("district", String(32), nullable=False),
        Column("sector", String(32), nullable=False),
        Column("size", String(16), nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_position", BIGINT, nullable=False),
    ),
)

ACTIVITIES = TableDef(
    "register_activities",
    ("id",),
    lambda name, md: Table(
        name,
        md,
        Column("id", Uuid, primary_key=True),
        Column("department", String(32), nullable=False),
        Column("project", String(8), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("title", Text, nullable=False),
        Column("budget_year", Integer, nullable=False),
        Column("channel", String(24), nullable=False),
        Column("drawing_year", Integer, nullable=False),
        Column("budget", BIGINT, nullable=False),
        Column("spent", BIGINT, nullable=False),
        Column("status", String(16), nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_position", BIGINT, nullable=False),
    ),
)

#: a budget line's figures, as ``BudgetLine.as_dict`` gives them (``available`` is computed)
LINE_FIGURES = BUDGET_LINE_FIGURES

LINES = TableDef(
    "register_budget_lines",
    ("id",),
    lambda name, md: Table(
        name,
        md,
        Column("id", Uuid, primary_key=True),
        Column("budget_year", Integer, nullable=False),
        Column("project", String(8), nullable=False),
        Column("source", String(16), nullable=False),
        Column("channel", String(24), nullable=False),
        *(Column(figure, BIGINT, nullable=False) for figure in LINE_FIGURES),
        Column("version", Integer, nullable=False),
        Column("updated_position", BIGINT, nullable=False),
    ),
)

A = SupportApplication
#: the status an application event leaves behind, for the events that only move the status
STATUS_OF: dict[type, str] = {
    A.Returned: "returned",
    A.Rejected: "rejected",
    A.Withdrawn: "withdrawn",
    A.Settled: "settled",
    A.Cancelled: "cancelled",
}

#: the keys of ``Ledger.get_application``, in its order
APPLICATION_KEYS = (
    "id",
    "dossier_no",
    "status",
    "enterprise_id",
    "project",
    "support_type",
    "title",
    "total_cost",
    "requested",
    "recommended",
    "approved",
    "budget_year",
    "channel",
    "drawing_year",
    "contract_no",
    "disbursed",
    "recovery_ordered",
    "recovered",
    "acceptance_result",
    "outputs",
    "counterpart_spent",
    "disbursements",
    "recoveries",
    "version",
)

#: the columns of a row of the application list
LIST_KEYS = (
    "id",
    "dossier_no",
    "enterprise_id",
    "enterprise_name",
    "project",
    "support_type",
    "title",
    "status",
    "total_cost",
    "requested",
    "approved",
    "budget_year",
    "channel",
    "drawing_year",
    "submitted_on",
    "disbursed",
    "recovered",
    "contract_no",
    "updated_position",
)


def folded(text: str) -> str:
    """Text as searches compare it: composed (NFC) and case-folded in Python, so that
    Vietnamese letters match whatever their case or composition on either database."""
    return unicodedata.normalize("NFC", text).casefold()


def search_text(dossier_no: str, title: str, enterprise_name: str) -> str:
    """What the list's ``q`` is matched against."""
    return folded(f"{dossier_no}\n{title}\n{enterprise_name}")


class Registers(Projection):
    NAME = NAME
    TABLES = (APPLICATIONS, ENTERPRISES, ACTIVITIES, LINES)

    def __init__(self, tables: dict[str, Table], *, rebuilding: bool = False) -> None:
        super().__init__(tables, rebuilding=rebuilding)
        #: (enterprise id, new name) in order, applied to the stored applications at flush
        self.renamed: list[tuple[UUID, str]] = []
        #: enterprise id -> ids of its applications (in a rebuild, where all are in memory)
        self.applications_of: dict[UUID, list[tuple[UUID]]] = {}

    def restored(self) -> None:
        for key, row in self.rows("register_applications").rows.items():
            self.applications_of.setdefault(row["enterprise_id"], []).append(key)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    # -- helpers -----------------------------------------------------------------------------

    def _touch(self, table: str, event: Any, position: int) -> dict[str, Any]:
        row = self.rows(table).touch((event.originator_id,))
        assert row is not None, f"{table}: no row for {event.originator_id}"
        row["version"] = event.originator_version
        row["updated_position"] = position
        return row

    def _app(self, event: SupportApplication.Event, position: int) -> dict[str, Any]:
        return self._touch("register_applications", event, position)

    def flush(self, connection: Connection, keyed: bool = True) -> None:
        super().flush(connection, keyed)
        # After every row of the batch is written, so that none is left with the old name.
        table = self.tables["register_applications"]
        for enterprise_id, name in self.renamed:
            stored = connection.execute(
                select(table.c.id, table.c.dossier_no, table.c.title).where(
                    table.c.enterprise_id == enterprise_id
                )
            ).all()
            for app_id, dossier_no, title in stored:
                connection.execute(
                    update(table)
                    .where(table.c.id == app_id)
                    .values(enterprise_name=name, search=search_text(dossier_no, title, name))
                )
        self.renamed = []

    # -- enterprises -------------------------------------------------------------------------

    @process_event.register
    def _registered(self, event: Enterprise.Registered, position: int) -> None:
        self.rows("register_enterprises").get_or_create(
            (event.originator_id,),
            lambda: {
                "id": event.originator_id,
                "tax_code": event.tax_code,
                "name": event.name,
                "district": event.district,
                "sector": event.sector,
                "size": event.size,
                "version": event.originator_version,
                "updated_position": position,
            },
        )

    @process_event.register
    def _corrected(self, event: Enterprise.Corrected, position: int) -> None:
        row = self._touch("register_enterprises", event, position)
        row.update(event.changes)
        name = event.changes.get("name")
        if name is None:
            return
        if not self.rebuilding:  # the stored rows are renamed once the batch's are written
            self.renamed.append((event.originator_id, name))
            return
        buffer = self.rows("register_applications")  # in a rebuild, every row is in memory
        for key in self.applications_of.get(event.originator_id, []):
            app = buffer.touch(key)
            assert app is not None
            app["enterprise_name"] = name
            app["search"] = search_text(app["dossier_no"], app["title"], name)

    # -- budget lines --------------------------------------------------------------------------

    def _line(self, event: BudgetLine.Event, position: int) -> dict[str, Any] | None:
        """The register's row of a city-budget line (None for a line of an old log's
        counterpart source, which is not a budget line)."""
        if BUDGET_LINES[event.originator_id][2] != catalogue.CITY_BUDGET:
            return None
        return self._touch("register_budget_lines", event, position)

    def _add(self, event: BudgetLine.Event, position: int, figure: str, amount: int) -> None:
        row = self._line(event, position)
        if row is not None:
            row[figure] += amount

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        if event.source != catalogue.CITY_BUDGET:
            return
        self.rows("register_budget_lines").get_or_create(
            (event.originator_id,),
            lambda: {
                "id": event.originator_id,
                "budget_year": event.budget_year,
                "project": event.project,
                "source": event.source,
                "channel": event.channel,
                **dict.fromkeys(LINE_FIGURES, 0),
                "assigned": event.amount,
                "version": event.originator_version,
                "updated_position": position,
            },
        )

    @process_event.register
    def _line_moved(self, event: LineMoved, position: int) -> None:
        for figure, amount in changes(event):
            self._add(event, position, figure, amount)

    # -- applications ------------------------------------------------------------------------

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        enterprise = self.rows("register_enterprises").get((event.enterprise_id,))
        name = enterprise["name"] if enterprise is not None else ""
        if self.rebuilding:
            self.applications_of.setdefault(event.enterprise_id, []).append((event.originator_id,))
        self.rows("register_applications").get_or_create(
            (event.originator_id,),
            lambda: {
                "id": event.originator_id,
                "dossier_no": event.dossier_no,
                "enterprise_id": event.enterprise_id,
                "enterprise_name": name,
                "project": event.project,
                "support_type": event.support_type,
                "title": event.title,
                "status": "submitted",
                "total_cost": event.total_cost,
                "requested": dict(event.requested),
                "recommended": None,
                "approved": None,
                "budget_year": None,
                "channel": None,
                "drawing_year": None,
                "year": event.effective_date.year,
                "submitted_on": event.effective_date,
                "contract_no": None,
                "disbursed": 0,
                "recovery_ordered": 0,
                "recovered": 0,
                "acceptance_result": None,
                "outputs": {},
                "counterpart_spent": None,
                "disbursements": [],
                "recoveries": [],
                "search": search_text(event.dossier_no, event.title, name),
                "version": event.originator_version,
                "updated_position": position,
            },
        )

    @process_event.register
    def _resubmitted(self, event: SupportApplication.Resubmitted, position: int) -> None:
        app = self._app(event, position)
        app["status"] = "submitted"
        app["recommended"] = None

    @process_event.register
    def _appraised(self, event: SupportApplication.Appraised, position: int) -> None:
        app = self._app(event, position)
        app["status"] = "appraised"
        app["recommended"] = dict(event.recommended)

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        app = self._app(event, position)
        app["status"] = "approved"
        app["budget_year"] = app["year"] = app["drawing_year"] = event.budget_year
        app["channel"] = event.channel
        app["approved"] = dict(event.approved)

    @process_event.register
    def _contract(self, event: SupportApplication.ContractSigned, position: int) -> None:
        app = self._app(event, position)
        app["status"] = "contracted"
        app["contract_no"] = event.contract_no

    @process_event.register
    def _disbursed(self, event: SupportApplication.Disbursed, position: int) -> None:
        app = self._app(event, position)
        app["disbursed"] += event.amount
        app["disbursements"] = [
            *app["disbursements"],
            {
                "id": str(event.disbursement_id),
                "kind": event.kind,
                "amount": event.amount,
                "voucher_no": event.voucher_no,
                "reversed": False,
            },
        ]

    @process_event.register
    def _reversed(self, event: SupportApplication.DisbursementReversed, position: int) -> None:
        app = self._app(event, position)
        app["disbursed"] -= event.amount
        reversed_id = str(event.disbursement_id)
        app["disbursements"] = [
            {**d, "reversed": True} if d["id"] == reversed_id else d for d in app["disbursements"]
        ]

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        app = self._app(event, position)
        app["status"] = "accepted" if event.result == "passed" else "acceptance_failed"
        app["acceptance_result"] = event.result
        app["outputs"] = dict(event.outputs)
        spent = event.counterpart_spent
        app["counterpart_spent"] = dict(spent) if spent is not None else None

    @process_event.register
    def _app_carried(self, event: SupportApplication.CommitmentCarried, position: int) -> None:
        self._app(event, position)["drawing_year"] = event.to_year

    @process_event.register
    def _recovery_ordered(self, event: SupportApplication.RecoveryOrdered, position: int) -> None:
        app = self._app(event, position)
        app["recovery_ordered"] += event.amount
        app["recoveries"] = [
            *app["recoveries"],
            {"id": str(event.recovery_id), "amount": event.amount, "received": False},
        ]

    @process_event.register
    def _recovery_received(self, event: SupportApplication.RecoveryReceived, position: int) -> None:
        app = self._app(event, position)
        app["recovered"] += event.amount
        received_id = str(event.recovery_id)
        app["recoveries"] = [
            {**r, "received": True} if r["id"] == received_id else r for r in app["recoveries"]
        ]

    @process_event.register
    def _status(self, event: SupportApplication.Event, position: int) -> None:
        app = self._app(event, position)
        status = STATUS_OF.get(type(event))
        if status is not None:
            app["status"] = status

    # -- program activities --------------------------------------------------------------------

    @process_event.register
    def _activity(self, event: ProgramActivity.Approved, position: int) -> None:
        self.rows("register_activities").get_or_create(
            (event.originator_id,),
            lambda: {
                "id": event.originator_id,
                "department": event.department_code,
                "project": event.project,
                "kind": event.kind,
                "title": event.title,
                "budget_year": event.budget_year,
                "channel": event.channel,
                "drawing_year": event.budget_year,
                "budget": event.budget,
                "spent": 0,
                "status": "approved",
                "version": event.originator_version,
                "updated_position": position,
            },
        )

    @process_event.register
    def _spent(self, event: ProgramActivity.Spent, position: int) -> None:
        self._touch("register_activities", event, position)["spent"] += event.amount

    @process_event.register
    def _completed(self, event: ProgramActivity.Completed, position: int) -> None:
        self._touch("register_activities", event, position)["status"] = "completed"

    @process_event.register
    def _activity_carried(self, event: ProgramActivity.CommitmentCarried, position: int) -> None:
        self._touch("register_activities", event, position)["drawing_year"] = event.to_year


# -- queries ---------------------------------------------------------------------------------


def _page(page: int, page_size: int) -> None:
    if page < 1 or page_size < 1:
        raise ValueError("page and page_size start at 1")


def _application_out(row: Any) -> dict[str, Any]:
    out = {key: row[key] for key in APPLICATION_KEYS}
    out["id"] = str(out["id"])
    out["enterprise_id"] = str(out["enterprise_id"])
    return out


def applications(
    connection: Connection,
    tables: dict[str, Table],
    status: str | None = None,
    project: str | None = None,
    budget_year: int | None = None,
    enterprise_id: UUID | str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 50,
    district: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of applications ordered by submission date and dossier number, and the
    number of the next page (None on the last). ``budget_year`` is the budget year, or the
    year of submission of one not yet approved; ``q`` is found, whatever its case, in the
    dossier number, the title or the enterprise's name, or is the enterprise's tax code;
    ``district`` is the enterprise's district now."""
    _page(page, page_size)
    apps = tables["register_applications"]
    firms = tables["register_enterprises"]
    query = select(*(apps.c[k] for k in LIST_KEYS))
    if district is not None or q:
        query = query.select_from(apps.join(firms, firms.c.id == apps.c.enterprise_id))
    query = query.where(
        *equal_to(firms, district=district),
        *equal_to(apps, status=status, project=project, year=budget_year),
    )
    if enterprise_id is not None:
        query = query.where(apps.c.enterprise_id == as_uuid(enterprise_id))
    if q:
        query = query.where(
            or_(
                apps.c.search.contains(folded(q.strip()), autoescape=True),
                firms.c.tax_code == q.strip(),
            )
        )
    query = query.order_by(apps.c.submitted_on, apps.c.dossier_no)
    query = query.offset((page - 1) * page_size).limit(page_size + 1)
    rows = []
    for found in connection.execute(query).mappings():
        row = dict(found)
        row["id"] = str(row["id"])
        row["enterprise_id"] = str(row["enterprise_id"])
        row["submitted_on"] = row["submitted_on"].isoformat()
        rows.append(row)
    if len(rows) > page_size:
        return rows[:page_size], page + 1
    return rows, None


def application(
    connection: Connection, tables: dict[str, Table], id: UUID | str
) -> dict[str, Any] | None:
    """The application as ``Ledger.get_application`` answers it, or None."""
    apps = tables["register_applications"]
    row = connection.execute(select(apps).where(apps.c.id == as_uuid(id))).mappings().first()
    return _application_out(row) if row is not None else None


def support_types(
    connection: Connection, tables: dict[str, Table], project: str
) -> list[dict[str, Any]]:
    """The support types of a project's applications: ``{support_type, applications,
    approved}`` (applications of every status; ``approved``: the city-budget share of the
    approved ones), by support type."""
    apps = tables["register_applications"]
    query = select(apps.c.support_type, apps.c.approved).where(apps.c.project == project)
    found: dict[str, dict[str, Any]] = {}
    for support_type, approved in connection.execute(query):
        row = found.setdefault(
            support_type, {"support_type": support_type, "applications": 0, "approved": 0}
        )
        row["applications"] += 1
        if approved:
            row["approved"] += int(approved.get(catalogue.CITY_BUDGET, 0))
    return [found[k] for k in sorted(found)]


def enterprise(
    connection: Connection, tables: dict[str, Table], id: UUID | str
) -> dict[str, Any] | None:
    """The enterprise as ``Ledger.get_enterprise`` answers it, or None."""
    table = tables["register_enterprises"]
    row = connection.execute(select(table).where(table.c.id == as_uuid(id))).mappings().first()
    return _enterprise_out(row) if row is not None else None


def _enterprise_out(row: Any) -> dict[str, Any]:
    keys = ("tax_code", "name", "district", "sector", "size", "version")
    return {"id": str(row["id"]), **{k: row[k] for k in keys}}


def enterprises(connection: Connection, tables: dict[str, Table]) -> list[dict[str, Any]]:
    """Every enterprise, by tax code, as ``Ledger.get_enterprise`` answers each."""
    table = tables["register_enterprises"]
    query = select(table).order_by(table.c.tax_code)
    return [_enterprise_out(r) for r in connection.execute(query).mappings()]


def activity(
    connection: Connection, tables: dict[str, Table], id: UUID | str
) -> dict[str, Any] | None:
    """The program activity as ``Ledger.get_activity`` answers it, or None."""
    table = tables["register_activities"]
    row = connection.execute(select(table).where(table.c.id == as_uuid(id))).mappings().first()
    return _activity_out(row) if row is not None else None


def _activity_out(row: Any) -> dict[str, Any]:
    keys = (
        "department",
        "project",
        "kind",
        "title",
        "budget_year",
        "channel",
        "drawing_year",
        "budget",
        "spent",
        "status",
        "version",
    )
    return {"id": str(row["id"]), **{k: row[k] for k in keys}}


def activities(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    department: str | None = None,
    project: str | None = None,
) -> list[dict[str, Any]]:
    """Program activities by budget year, department, project and title."""
    table = tables["register_activities"]
    query = select(table).order_by(
        table.c.budget_year, table.c.department, table.c.project, table.c.title, table.c.id
    )
    query = query.where(
        *equal_to(table, budget_year=budget_year, department=department, project=project)
    )
    return [_activity_out(r) for r in connection.execute(query).mappings()]


def budget_lines(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
    source: str | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """The city-budget lines as ``Ledger.get_budget_lines`` answers them: ``{id, budget_year,
    project, source, channel, assigned, carried_in, committed, disbursed, recovered,
    carried_out, cancelled, available}``, by year, project and channel."""
    lines = tables["register_budget_lines"]
    query = select(lines).order_by(lines.c.budget_year, lines.c.project, lines.c.channel)
    query = query.where(
        *equal_to(lines, budget_year=budget_year, project=project, source=source, channel=channel)
    )
    answer = []
    for r in connection.execute(query).mappings():
        figures = {figure: r[figure] for figure in LINE_FIGURES}
        available = figures["assigned"] + figures["carried_in"]
        available -= figures["committed"] + figures["cancelled"]
        answer.append(
            {
                "id": str(r["id"]),
                "budget_year": r["budget_year"],
                "project": r["project"],
                "source": r["source"],
                "channel": r["channel"],
                **figures,
                "available": available,
            }
        )
    return answer
