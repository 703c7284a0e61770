"""project_spend: money per budget year × project × funding source, and applications by status.

City-budget figures come from the budget lines (assigned, committed net of releases,
disbursed net of reversals, recovered); for the enterprise and other sources, ``assigned`` is
what was planned on their lines and ``committed`` the approved shares of applications that
were not cancelled. Applications are counted by status under their budget year (the year of
submission until an approval fixes the budget year).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, Connection, Integer, String, Table, Uuid, select

from ledger.budget_line import BUDGET_LINES, BudgetLine
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef

NAME = "project_spend"

SPEND = TableDef(
    "project_spend",
    ("budget_year", "project", "source"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        Column("source", String(16), primary_key=True),
        Column("assigned", BIGINT, nullable=False),
        Column("committed", BIGINT, nullable=False),
        Column("disbursed", BIGINT, nullable=False),
        Column("recovered", BIGINT, nullable=False),
        Column("applications", JSON, nullable=False),
    ),
)

APPS = TableDef(
    "project_spend_apps",
    ("application_id",),
    lambda name, md: Table(
        name,
        md,
        Column("application_id", Uuid, primary_key=True),
        Column("project", String(8), nullable=False),
        Column("budget_year", Integer, nullable=False),
        Column("status", String(24), nullable=False),
        Column("approved", JSON, nullable=True),
    ),
)


A = SupportApplication
STATUS_OF: dict[type, str] = {
    A.Returned: "returned",
    A.Resubmitted: "submitted",
    A.Appraised: "appraised",
    A.Rejected: "rejected",
    A.Withdrawn: "withdrawn",
    A.ContractSigned: "contracted",
    A.Settled: "settled",
    A.Cancelled: "cancelled",
}


class ProjectSpend(Projection):
    NAME = NAME
    TABLES = (SPEND, APPS)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    # -- helpers -----------------------------------------------------------------------------

    def _spend(self, year: int, project: str, source: str) -> dict[str, Any]:
        return self.rows("project_spend").get_or_create(
            (year, project, source),
            lambda: {
                "budget_year": year,
                "project": project,
                "source": source,
                "assigned": 0,
                "committed": 0,
                "disbursed": 0,
                "recovered": 0,
                "applications": {},
            },
        )

    def _line(self, line_id: UUID) -> dict[str, Any]:
        year, project, source, _channel = BUDGET_LINES[line_id]
        return self._spend(year, project, source)

    def _count(self, year: int, project: str, status: str, delta: int) -> None:
        row = self._spend(year, project, "city_budget")
        counts = dict(row["applications"])
        counts[status] = counts.get(status, 0) + delta
        if counts[status] == 0:
            del counts[status]
        row["applications"] = counts

    def _move(self, application_id: UUID, status: str, year: int | None = None) -> dict[str, Any]:
        app = self.rows("project_spend_apps").touch((application_id,))
        assert app is not None, f"application {application_id} was never submitted"
        self._count(app["budget_year"], app["project"], app["status"], -1)
        if year is not None:
            app["budget_year"] = year
        app["status"] = status
        self._count(app["budget_year"], app["project"], status, +1)
        return app

    # -- budget lines --------------------------------------------------------------------------

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._line(event.originator_id)["assigned"] += event.amount

    @process_event.register
    def _adjusted(self, event: BudgetLine.Adjusted, position: int) -> None:
        self._line(event.originator_id)["assigned"] += event.amount

    @process_event.register
    def _committed(self, event: BudgetLine.Committed, position: int) -> None:
        self._line(event.originator_id)["committed"] += event.amount

    @process_event.register
    def _released(self, event: BudgetLine.Released, position: int) -> None:
        self._line(event.originator_id)["committed"] -= event.amount

    @process_event.register
    def _disbursed(self, event: BudgetLine.Disbursed, position: int) -> None:
        self._line(event.originator_id)["disbursed"] += event.amount

    @process_event.register
    def _reversed(self, event: BudgetLine.DisbursementReversed, position: int) -> None:
        self._line(event.originator_id)["disbursed"] -= event.amount

    @process_event.register
    def _recovered(self, event: BudgetLine.Recovered, position: int) -> None:
        self._line(event.originator_id)["recovered"] += event.amount

    # -- applications ------------------------------------------------------------------------

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        year = event.effective_date.year
        self.rows("project_spend_apps").get_or_create(
            (event.originator_id,),
            lambda: {
                "application_id": event.originator_id,
                "project": event.project,
                "budget_year": year,
                "status": "submitted",
                "approved": None,
            },
        )
        self._count(year, event.project, "submitted", +1)

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        app = self._move(event.originator_id, "approved", event.budget_year)
        app["approved"] = dict(event.approved)
        for source in ("enterprise", "other"):
            if event.approved.get(source):
                self._spend(event.budget_year, app["project"], source)["committed"] += (
                    event.approved[source]
                )

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        self._move(
            event.originator_id, "accepted" if event.result == "passed" else "acceptance_failed"
        )

    @process_event.register
    def _cancelled(self, event: SupportApplication.Cancelled, position: int) -> None:
        app = self._move(event.originator_id, "cancelled")
        for source in ("enterprise", "other"):
            share = (app["approved"] or {}).get(source, 0)
            if share:
                self._spend(app["budget_year"], app["project"], source)["committed"] -= share

    @process_event.register
    def _status(self, event: SupportApplication.Event, position: int) -> None:
        status = STATUS_OF.get(type(event))
        if status is not None:
            self._move(event.originator_id, status)


def report(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{budget_year, project, source, assigned, committed, disbursed, recovered,
    available, applications}``; application counts are given on every source of a project."""
    spend = tables["project_spend"]
    query = select(spend).order_by(spend.c.budget_year, spend.c.project, spend.c.source)
    if budget_year is not None:
        query = query.where(spend.c.budget_year == budget_year)
    if project is not None:
        query = query.where(spend.c.project == project)
    rows = [dict(r) for r in connection.execute(query).mappings()]
    counts = {
        (r["budget_year"], r["project"]): r["applications"]
        for r in rows
        if r["source"] == "city_budget"
    }
    result = []
    for row in rows:
        if source is not None and row["source"] != source:
            continue
        if row["source"] != "city_budget" and not (row["assigned"] or row["committed"]):
            continue
        result.append(
            {
                "budget_year": row["budget_year"],
                "project": row["project"],
                "source": row["source"],
                "assigned": row["assigned"],
                "committed": row["committed"],
                "disbursed": row["disbursed"],
                "recovered": row["recovered"],
                "available": row["assigned"] - row["committed"],
                "applications": dict(counts.get((row["budget_year"], row["project"]), {})),
            }
        )
    return result
