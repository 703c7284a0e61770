"""budget_execution: the city budget per budget year × project × source × channel, from the
estimate to its execution.

The estimate (dự toán) as it went, from the ``AnnualEstimate`` events: ``proposed``, the
line's amount in the latest draft (lập dự toán; a redraft replaces the previous version's),
``appraised`` (thẩm định, Sở Tài chính) and ``approved`` (phê duyệt, UBND). Then its execution,
from the budget lines' events, as project_spend counts them: ``assigned`` (giao dự toán: the
first assignment and every later change, net), ``adjusted`` (the part of ``assigned`` decided
after the first assignment: increases − reductions; a line opened at 0 by a carry-over takes
its first increase as its first assignment), ``carried_in``, ``committed`` (net of releases,
carry-ins included), ``disbursed`` (net of reversals), ``recovered``, ``carried_out`` and
``cancelled``. Lines of the enterprise and other sources in an old log are not budget lines
and are ignored; estimate lines name their own source (the city budget).
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, Connection, Integer, String, Table, select

from ledger import catalogue
from ledger.annual_estimate import AnnualEstimate, annual_estimate_id
from ledger.budget_line import BUDGET_LINES, BudgetLine, LineMoved, changes
from ledger.budget_line import FIGURES as LINE_FIGURES
from ledger.commands import FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR
from projections.base import BIGINT, Projection, TableDef, equal_to

NAME = "budget_execution"

ESTIMATE = ("proposed", "appraised", "approved")
FIGURES = (*ESTIMATE, "adjusted", *LINE_FIGURES)

EXECUTION = TableDef(
    "budget_execution",
    ("budget_year", "project", "source", "channel"),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True),
        Column("project", String(8), primary_key=True),
        Column("source", String(16), primary_key=True),
        Column("channel", String(24), primary_key=True),
        *(Column(figure, BIGINT, nullable=False) for figure in FIGURES),
    ),
)

#: per budget year, the estimate lines each stage holds now: {stage: [[project, source,
#: channel, amount, reason], …]} (the reason of an appraised line that changes the draft,
#: else None), so that a redraft takes back the previous version's
ESTIMATES = TableDef(
    "budget_execution_estimates",
    ("budget_year",),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True, autoincrement=False),
        Column("lines", JSON, nullable=False),
    ),
)


class BudgetExecution(Projection):
    NAME = NAME
    TABLES = (EXECUTION, ESTIMATES)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    def _row(self, year: int, project: str, source: str, channel: str) -> dict[str, Any]:
        return self.rows("budget_execution").get_or_create(
            (year, project, source, channel),
            lambda: {
                "budget_year": year,
                "project": project,
                "source": source,
                "channel": channel,
                **dict.fromkeys(FIGURES, 0),
            },
        )

    def _line(self, line_id: UUID) -> dict[str, Any] | None:
        year, project, source, channel = BUDGET_LINES[line_id]
        if source != catalogue.CITY_BUDGET:
            return None
        return self._row(year, project, source, channel)

    def _add(self, line_id: UUID, figure: str, amount: int) -> None:
        row = self._line(line_id)
        if row is not None:
            row[figure] += amount

    def _change(self, line_id: UUID, amount: int) -> None:
        """An increase (+) or reduction (−) by decision: an adjustment, unless it is the first
        assignment of a line a carry-over opened at 0."""
        row = self._line(line_id)
        if row is None:
            return
        if row["assigned"] or row["adjusted"]:
            row["adjusted"] += amount
        row["assigned"] += amount

    def _stage(self, year: int, stage: str, lines: list[dict[str, Any]]) -> None:
        """Replace the lines ``stage`` of the estimate of ``year`` holds by ``lines``."""
        held = self.rows("budget_execution_estimates").get_or_create(
            (year,), lambda: {"budget_year": year, "lines": {}}
        )
        for project, source, channel, amount, *_ in held["lines"].get(stage, []):
            self._row(year, project, source, channel)[stage] -= amount
        now = [
            [ln["project"], ln["source"], ln["channel"], ln["amount"], ln.get("reason")]
            for ln in lines
        ]
        for project, source, channel, amount, _ in now:
            self._row(year, project, source, channel)[stage] += amount
        held["lines"] = {**held["lines"], stage: now}

    # -- the estimate ----------------------------------------------------------------------------

    @process_event.register
    def _opened(self, event: AnnualEstimate.Opened, position: int) -> None:
        self.rows("budget_execution_estimates").get_or_create(
            (event.budget_year,), lambda: {"budget_year": event.budget_year, "lines": {}}
        )

    @process_event.register
    def _drafted(self, event: AnnualEstimate.Drafted, position: int) -> None:
        year = estimate_year(event.originator_id)
        self._stage(year, "proposed", event.lines)
        self._stage(year, "appraised", [])  # a redraft sets any appraisal aside

    @process_event.register
    def _appraised(self, event: AnnualEstimate.Appraised, position: int) -> None:
        self._stage(estimate_year(event.originator_id), "appraised", event.lines)

    @process_event.register
    def _approved(self, event: AnnualEstimate.Approved, position: int) -> None:
        self._stage(estimate_year(event.originator_id), "approved", event.lines)

    # -- the budget lines --------------------------------------------------------------------------

    @process_event.register
    def _assigned(self, event: BudgetLine.Assigned, position: int) -> None:
        self._add(event.originator_id, "assigned", event.amount)

    @process_event.register
    def _line_moved(self, event: LineMoved, position: int) -> None:
        if isinstance(event, BudgetLine.Adjusted | BudgetLine.Reduced):
            self._change(event.originator_id, dict(changes(event))["assigned"])
            return
        for figure, amount in changes(event):
            self._add(event.originator_id, figure, amount)


#: estimate id -> its budget year (an estimate's id derives from its year)
ESTIMATE_YEARS: dict[UUID, int] = {
    annual_estimate_id(year): year for year in range(FIRST_BUDGET_YEAR - 1, LAST_BUDGET_YEAR + 2)
}


def estimate_year(estimate_id: UUID) -> int:
    return ESTIMATE_YEARS[estimate_id]


def report(
    connection: Connection,
    tables: dict[str, Table],
    budget_year: int | None = None,
    project: str | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """Rows ``{budget_year, project, source, channel, proposed, appraised, approved,
    adjusted, assigned, carried_in, committed, disbursed, recovered, carried_out,
    cancelled}`` by year, project, source and channel."""
    table = tables["budget_execution"]
    query = select(table).order_by(
        table.c.budget_year, table.c.project, table.c.source, table.c.channel
    )
    query = query.where(*equal_to(table, budget_year=budget_year, project=project, channel=channel))
    return [dict(row) for row in connection.execute(query).mappings()]


#: the execution figures of last year shown beside an estimate
PREVIOUS = LINE_FIGURES


def estimate_report(
    connection: Connection, tables: dict[str, Table], budget_year: int
) -> dict[str, Any]:
    """The estimate of ``budget_year`` as Sở Tài chính appraises it: per project × source ×
    channel, ``proposed`` (the latest draft), ``appraised`` with the appraisal's ``reason``
    for a change, ``approved``; a stage not reached yet is null. Beside each line, the same
    line's execution the year before (``previous``). ``stages``: the stages reached;
    ``totals``: the sums of the figures."""
    held = connection.execute(
        select(tables["budget_execution_estimates"].c.lines).where(
            tables["budget_execution_estimates"].c.budget_year == budget_year
        )
    ).scalar_one_or_none()
    stages = [stage for stage in ESTIMATE if (held or {}).get(stage)]
    reasons = {
        (project, source, channel): rest[0] if rest else None
        for project, source, channel, _, *rest in (held or {}).get("appraised", [])
    }
    this_year = {_key(r): r for r in report(connection, tables, budget_year)}
    last_year = {_key(r): r for r in report(connection, tables, budget_year - 1)}
    rows: list[dict[str, Any]] = []
    for key in sorted(set(this_year) | set(last_year)):
        now, before = this_year.get(key), last_year.get(key)
        if now is not None and not any(now[s] for s in ESTIMATE) and before is None:
            continue  # a line of the year outside its estimate, nothing to compare
        project, source, channel = key
        rows.append(
            {
                "project": project,
                "source": source,
                "channel": channel,
                **{s: ((now or {}).get(s, 0) if s in stages else None) for s in ESTIMATE},
                "reason": reasons.get(key),
                "previous": {f: (before or {}).get(f, 0) for f in PREVIOUS},
            }
        )
    totals = {s: (sum(r[s] for r in rows) if s in stages else None) for s in ESTIMATE}
    previous = {f: sum(r["previous"][f] for r in rows) for f in PREVIOUS}
    return {
        "budget_year": budget_year,
        "stages": stages,
        "rows": rows,
        "totals": {**totals, "previous": previous},
    }


def execution_report(
    connection: Connection, tables: dict[str, Table], budget_year: int | None = None
) -> dict[str, Any]:
    """Budget execution (``report``'s rows) with the sum of each figure (``totals``)."""
    rows = report(connection, tables, budget_year)
    return {
        "budget_year": budget_year,
        "rows": rows,
        "totals": {figure: sum(row[figure] for row in rows) for figure in FIGURES},
    }


def _key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["project"], row["source"], row["channel"])
