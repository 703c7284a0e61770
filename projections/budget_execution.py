"""budget_execution: the city budget per budget year × project, estimated against executed.

The estimate columns (``estimate_proposed``, ``estimate_appraised``, ``estimate_approved``:
lập dự toán, thẩm định, phê duyệt) stay 0 for now: the ledger has no events for the annual
estimate yet. The budget-cycle issue adds ``AnnualEstimate`` events and registers their
handlers here. What is folded today comes from the city-budget lines: ``assigned`` (giao
dự toán, with adjustments), ``committed`` (net of releases) and ``disbursed`` (net of
reversals), as project_spend counts them. Lines of the enterprise and other sources are not
part of the city's budget execution and are ignored.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import Column, Connection, Integer, String, Table, select

from ledger.budget_line import BUDGET_LINES, BudgetLine
from projections.base import BIGINT, Projection, TableDef

NAME = "budget_execution"

FIGURES = (
    "estimate_proposed",
    "estimate_appraised",
    "estimate_approved",
    "assigned",
    "committed",
    "disbursed",
)

EXECUTION = TableDef(
    "budget_execution",
    ("budget_year", "project"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        *(Column(figure, BIGINT, nullable=False) for figure in FIGURES),
    ),
)


class BudgetExecution(Projection):
    NAME = NAME
    TABLES = (EXECUTION,)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    def _add(self, line_id: UUID, figure: str, amount: int) -> None:
        year, project, source, _channel = BUDGET_LINES[line_id]
        if source != "city_budget":
            return
        row = self.rows("budget_execution").get_or_create(
            (year, project),
            lambda: {"budget_year": year, "project": project, **dict.fromkeys(FIGURES, 0)},
        )
        row[figure] += amount

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._add(event.originator_id, "assigned", event.amount)

    @process_event.register
    def _adjusted(self, event: BudgetLine.Adjusted, position: int) -> None:
        self._add(event.originator_id, "assigned", event.amount)

    @process_event.register
    def _committed(self, event: BudgetLine.Committed, position: int) -> None:
        self._add(event.originator_id, "committed", event.amount)

    @process_event.register
    def _released(self, event: BudgetLine.Released, position: int) -> None:
        self._add(event.originator_id, "committed", -event.amount)

    @process_event.register
    def _disbursed(self, event: BudgetLine.Disbursed, position: int) -> None:
        self._add(event.originator_id, "disbursed", event.amount)

    @process_event.register
    def _reversed(self, event: BudgetLine.DisbursementReversed, position: int) -> None:
        self._add(event.originator_id, "disbursed", -event.amount)


def report(
    connection: Connection, tables: dict[str, Table], budget_year: int | None = None
) -> list[dict[str, Any]]:
    """Rows ``{budget_year, project, estimate_proposed, estimate_appraised, estimate_approved,
    assigned, committed, disbursed}`` by year and project."""
    table = tables["budget_execution"]
    query = select(table).order_by(table.c.budget_year, table.c.project)
    if budget_year is not None:
        query = query.where(table.c.budget_year == budget_year)
    return [dict(row) for row in connection.execute(query).mappings()]
