"""department_activity: what each department did, per department × year.

The year of every figure is the year of the event's effective date (the date written on the
decision or voucher). Counted for the department of the actor who recorded the event:
``events`` (every event, of whatever record), ``applications_submitted``,
``applications_approved``, ``approved_amount`` (the city-budget share approved) and
``disbursed_amount`` (advances and payments of city-budget money to applications, net of
the reversals, each credited to the department of whoever recorded it; the departments' own
activity spending is not a disbursement). ``activities`` counts the program activities
approved, for the department that runs the activity.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, select

from ledger.program_activity import ProgramActivity
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef, equal_to

NAME = "department_activity"

ACTIVITY = TableDef(
    "department_activity",
    ("department", "budget_year"),
    lambda name, md: Table(
        name,
        md,
        Column("department", String(32), primary_key=True),
        Column("budget_year", Integer, primary_key=True),
        Column("events", BIGINT, nullable=False),
        Column("applications_submitted", Integer, nullable=False),
        Column("applications_approved", Integer, nullable=False),
        Column("approved_amount", BIGINT, nullable=False),
        Column("disbursed_amount", BIGINT, nullable=False),
        Column("activities", Integer, nullable=False),
    ),
)

FIGURES = (
    "events",
    "applications_submitted",
    "applications_approved",
    "approved_amount",
    "disbursed_amount",
    "activities",
)


class DepartmentActivity(Projection):
    NAME = NAME
    TABLES = (ACTIVITY,)

    @singledispatchmethod
    def process_event(self, event: Any, position: int) -> None:
        """Every event counts for the department and year of whoever recorded it."""
        self._counted(event)

    # -- helpers -----------------------------------------------------------------------------

    def _row(self, department: str, year: int) -> dict[str, Any]:
        return self.rows("department_activity").get_or_create(
            (department, year),
            lambda: {"department": department, "budget_year": year, **dict.fromkeys(FIGURES, 0)},
        )

    def _counted(self, event: Any) -> dict[str, Any]:
        """The row of the event's recorder, with the event counted."""
        row = self._row(event.department, event.effective_date.year)
        row["events"] += 1
        return row

    # -- applications ------------------------------------------------------------------------

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        self._counted(event)["applications_submitted"] += 1

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        row = self._counted(event)
        row["applications_approved"] += 1
        row["approved_amount"] += event.approved.get("city_budget", 0)

    @process_event.register
    def _disbursed(self, event: SupportApplication.Disbursed, position: int) -> None:
        self._counted(event)["disbursed_amount"] += event.amount

    @process_event.register
    def _reversed(self, event: SupportApplication.DisbursementReversed, position: int) -> None:
        self._counted(event)["disbursed_amount"] -= event.amount

    # -- program activities --------------------------------------------------------------------

    @process_event.register
    def _activity(self, event: ProgramActivity.Approved, position: int) -> None:
        self._counted(event)
        self._row(event.department_code, event.effective_date.year)["activities"] += 1


def report(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    department: str | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{department, budget_year, events, applications_submitted,
    applications_approved, approved_amount, disbursed_amount, activities}`` by year, then
    department."""
    table = tables["department_activity"]
    query = select(table).order_by(table.c.budget_year, table.c.department)
    query = query.where(*equal_to(table, budget_year=budget_year, department=department))
    return [
        {
            "department": r["department"],
            "budget_year": r["budget_year"],
            **{figure: r[figure] for figure in FIGURES},
        }
        for r in connection.execute(query).mappings()
    ]
