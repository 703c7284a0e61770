"""project_spend: money per budget year × project, city budget by channel and counterpart
funding by source, and applications by status.

Two kinds of money, two kinds of rows (ARCHITECTURE.md, BudgetLine; the program catalogue):

* **city budget** (``project_spend``), per budget year × project × channel, from the budget
  lines' events, the same figures as the line itself: ``assigned`` (assignments and
  increases, net of reductions), ``carried_in``, ``committed`` (net of releases; a carry-in
  commits at once), ``disbursed`` (net of reversals), ``recovered``, ``carried_out``,
  ``cancelled``; ``available = assigned + carried_in − committed − cancelled``.
* **counterpart funding** (``project_spend_counterpart``), per budget year × project × source
  (``enterprise``, ``other``): ``pledged``, the approved shares of the applications of the
  budget year not cancelled, and ``spent``, what the enterprise and other sources actually
  spent as recorded at acceptance (``counterpart_spent``), under the approval's budget year.
  Counterpart money is never assigned, committed on a line or available.

Lines of the enterprise and other sources found in a log written before they became
counterpart funding are not budget lines: every figure here ignores them (the audit trail
still shows their events). Applications are counted by status per budget year × project
(``project_spend_counts``; the year of submission until an approval fixes the budget year).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, Connection, Integer, String, Table, Uuid, select

from ledger import catalogue
from ledger.budget_line import BUDGET_LINES, BudgetLine, LineMoved, changes
from ledger.budget_line import FIGURES as BUDGET_LINE_FIGURES
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef, equal_to

NAME = "project_spend"

#: the figures of a city-budget row, as the budget line has them
CITY_FIGURES = BUDGET_LINE_FIGURES
#: the figures of a counterpart row
COUNTERPART_FIGURES = ("pledged", "spent")

SPEND = TableDef(
    "project_spend",
    ("budget_year", "project", "channel"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        Column("channel", String(24), primary_key=True),
        *(Column(figure, BIGINT, nullable=False) for figure in CITY_FIGURES),
    ),
)

COUNTERPART = TableDef(
    "project_spend_counterpart",
    ("budget_year", "project", "source"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        Column("source", String(16), primary_key=True),
        *(Column(figure, BIGINT, nullable=False) for figure in COUNTERPART_FIGURES),
    ),
)

COUNTS = TableDef(
    "project_spend_counts",
    ("budget_year", "project"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
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


def city_line(line_id: UUID) -> tuple[int, str, str] | None:
    """(budget year, project, channel) of a city-budget line; None for a line of another
    source (only in a log written before they became counterpart funding)."""
    year, project, source, channel = BUDGET_LINES[line_id]
    return (year, project, channel) if source == catalogue.CITY_BUDGET else None


class ProjectSpend(Projection):
    NAME = NAME
    TABLES = (SPEND, COUNTERPART, COUNTS, APPS)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    # -- helpers -----------------------------------------------------------------------------

    def _add(self, line_id: UUID, figure: str, amount: int) -> None:
        key = city_line(line_id)
        if key is None:
            return
        year, project, channel = key
        row = self.rows("project_spend").get_or_create(
            key,
            lambda: {
                "budget_year": year,
                "project": project,
                "channel": channel,
                **dict.fromkeys(CITY_FIGURES, 0),
            },
        )
        row[figure] += amount

    def _counterpart(self, year: int, project: str, source: str, figure: str, amount: int) -> None:
        if not amount:
            return
        row = self.rows("project_spend_counterpart").get_or_create(
            (year, project, source),
            lambda: {
                "budget_year": year,
                "project": project,
                "source": source,
                **dict.fromkeys(COUNTERPART_FIGURES, 0),
            },
        )
        row[figure] += amount

    def _count(self, year: int, project: str, status: str, delta: int) -> None:
        row = self.rows("project_spend_counts").get_or_create(
            (year, project), lambda: {"budget_year": year, "project": project, "applications": {}}
        )
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

    # -- budget lines (city budget) -------------------------------------------------------------

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._add(event.originator_id, "assigned", event.amount)

    @process_event.register
    def _line_moved(self, event: LineMoved, position: int) -> None:
        for figure, amount in changes(event):
            self._add(event.originator_id, figure, amount)

    # -- applications: statuses and counterpart funding -------------------------------------------

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
        for source in catalogue.COUNTERPART_SOURCES:
            share = event.approved.get(source, 0)
            self._counterpart(event.budget_year, app["project"], source, "pledged", share)

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        app = self._move(
            event.originator_id, "accepted" if event.result == "passed" else "acceptance_failed"
        )
        for source, amount in (event.counterpart_spent or {}).items():
            self._counterpart(app["budget_year"], app["project"], source, "spent", amount)

    @process_event.register
    def _cancelled(self, event: SupportApplication.Cancelled, position: int) -> None:
        app = self._move(event.originator_id, "cancelled")
        for source in catalogue.COUNTERPART_SOURCES:
            share = (app["approved"] or {}).get(source, 0)
            self._counterpart(app["budget_year"], app["project"], source, "pledged", -share)

    @process_event.register
    def _status(self, event: SupportApplication.Event, position: int) -> None:
        status = STATUS_OF.get(type(event))
        if status is not None:
            self._move(event.originator_id, status)


# -- queries ---------------------------------------------------------------------------------


def city_row(row: Any) -> dict[str, Any]:
    """A city-budget row as every reader answers it (with ``source`` and ``available``)."""
    figures = {figure: row[figure] for figure in CITY_FIGURES}
    return {
        "budget_year": row["budget_year"],
        "project": row["project"],
        "source": catalogue.CITY_BUDGET,
        "channel": row["channel"],
        **figures,
        "available": figures["assigned"]
        + figures["carried_in"]
        - figures["committed"]
        - figures["cancelled"],
    }


def report(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
    source: str | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """The city-budget rows ``{budget_year, project, source, channel, assigned, carried_in,
    committed, disbursed, recovered, carried_out, cancelled, available}`` by year, project
    and channel (none when ``source`` names a counterpart source)."""
    if source is not None and source != catalogue.CITY_BUDGET:
        return []
    spend = tables["project_spend"]
    query = select(spend).order_by(spend.c.budget_year, spend.c.project, spend.c.channel)
    query = query.where(*equal_to(spend, budget_year=budget_year, project=project, channel=channel))
    return [city_row(r) for r in connection.execute(query).mappings()]


def counterpart(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
    source: str | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """The counterpart rows ``{budget_year, project, source, pledged, spent}`` by year,
    project and source, where anything was pledged or spent. Counterpart money is on no
    channel: none when ``channel`` is given, or ``source`` is the city budget."""
    if channel is not None or source == catalogue.CITY_BUDGET:
        return []
    table = tables["project_spend_counterpart"]
    query = select(table).order_by(table.c.budget_year, table.c.project, table.c.source)
    query = query.where(*equal_to(table, budget_year=budget_year, project=project, source=source))
    return [
        {k: r[k] for k in ("budget_year", "project", "source", *COUNTERPART_FIGURES)}
        for r in connection.execute(query).mappings()
        if r["pledged"] or r["spent"]
    ]


def applications(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
) -> list[dict[str, Any]]:
    """``{budget_year, project, by_status: {status: count}}``: the applications of each budget
    year (the year of submission until an approval fixes it) and project, where any."""
    table = tables["project_spend_counts"]
    query = select(table).order_by(table.c.budget_year, table.c.project)
    query = query.where(*equal_to(table, budget_year=budget_year, project=project))
    return [
        {
            "budget_year": r["budget_year"],
            "project": r["project"],
            "by_status": dict(r["applications"]),
        }
        for r in connection.execute(query).mappings()
        if r["applications"]
    ]
