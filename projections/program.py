"""program: the program's results for a period of years, as Sở KH&CN reports them to the
People's Committee (the annual report, the mid-term review 2011–2015, the final review
2011–2020; section V.2 of the decision).

One projection, so that every figure of a report comes from one position of the log (one
Merkle root). It keeps copies of two other folds (:class:`~projections.base.Composite`):
``target_progress`` (progress to the eight targets, tables ``program_target_progress*``) and
``budget_execution`` (the city budget per year × project × source × channel, tables
``program_budget_execution*``), and folds its own:

- ``program_applications``: each application as supported: its enterprise, project and
  support type; the year of its approval (the approval's effective date) and the budget
  year it was approved in; the district,
  sector and size the enterprise had *when the approval was recorded* (an enterprise that
  moved later, as those of Từ Liêm did when it was split in 2014, counts where it was); the
  approved split (city budget, and the counterpart money the enterprise and other sources
  pledged); the year it was cancelled, if it was; the year of its passed or failed
  acceptance and the counterpart money recorded as spent there;
- ``program_paid``: city-budget money paid to each application per year of payment
  (advances and payments net of reversals) and recovered (recoveries received);
- ``program_enterprises``: each enterprise's name, district, sector and size as last
  recorded;
- ``program_activities`` / ``program_activity_ids``: the activities departments run
  themselves, per department × year: how many were approved and their budget (the year of
  the approval) and what was spent (the year of the spending);
- ``program_transactions``: every movement of money on a city-budget line that open data
  publishes as a transaction (IATI, the Fiscal Data Package): commitments and their
  releases, disbursements to applications and their reversals, activities' expenditure,
  recoveries; with the line's year, project and channel and the event's date and references.

What "supported" means in the report: an application approved in the period; its
enterprise is supported (counted once however many of its applications were); support given
is the city-budget share approved, and the city-budget money paid in the period (net of
reversals, less recoveries received in the period). Approved applications cancelled in the
period are counted apart (``cancelled``), so that every figure but the distinct enterprises
of a period is the sum of its years'.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    String,
    Table,
    Uuid,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    union_all,
)

from ledger import catalogue
from ledger.budget_line import BUDGET_LINES, BudgetLine
from ledger.enterprise import Enterprise
from ledger.program_activity import ProgramActivity
from ledger.support_application import SupportApplication
from projections import budget_execution, target_progress
from projections.base import BIGINT, Composite, TableDef
from projections.budget_execution import BudgetExecution
from projections.target_progress import TargetProgress

NAME = "program"
PREFIX = "program_"

APPLICATIONS = TableDef(
    "program_applications",
    ("application_id",),
    lambda name, md: Table(
        name,
        md,
        Column("application_id", Uuid, primary_key=True),
        Column("enterprise_id", Uuid, nullable=False),
        Column("project", String(8), nullable=False),
        Column("support_type", String(40), nullable=False),
        Column("approved_year", Integer, nullable=True),
        Column("budget_year", Integer, nullable=True),
        Column("district", String(24), nullable=True),
        Column("sector", String(32), nullable=True),
        Column("size", String(16), nullable=True),
        Column("city", BIGINT, nullable=False),
        Column("enterprise", BIGINT, nullable=False),
        Column("other", BIGINT, nullable=False),
        Column("cancelled_year", Integer, nullable=True),
        Column("accepted_year", Integer, nullable=True),
        Column("spent_enterprise", BIGINT, nullable=False),
        Column("spent_other", BIGINT, nullable=False),
    ),
)

PAID = TableDef(
    "program_paid",
    ("application_id", "year"),
    lambda name, md: Table(
        name,
        md,
        Column("application_id", Uuid, primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("paid", BIGINT, nullable=False),
        Column("recovered", BIGINT, nullable=False),
    ),
)

ENTERPRISES = TableDef(
    "program_enterprises",
    ("enterprise_id",),
    lambda name, md: Table(
        name,
        md,
        Column("enterprise_id", Uuid, primary_key=True),
        Column("name", String(500), nullable=False),
        Column("district", String(24), nullable=False),
        Column("sector", String(32), nullable=False),
        Column("size", String(16), nullable=False),
    ),
)

ACTIVITIES = TableDef(
    "program_activities",
    ("department", "year"),
    lambda name, md: Table(
        name,
        md,
        Column("department", String(32), primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("activities", Integer, nullable=False),
        Column("budget", BIGINT, nullable=False),
        Column("spent", BIGINT, nullable=False),
    ),
)

ACTIVITY_IDS = TableDef(
    "program_activity_ids",
    ("activity_id",),
    lambda name, md: Table(
        name,
        md,
        Column("activity_id", Uuid, primary_key=True),
        Column("department", String(32), nullable=False),
    ),
)

TRANSACTIONS = TableDef(
    "program_transactions",
    ("position",),
    lambda name, md: Table(
        name,
        md,
        Column("position", BIGINT, primary_key=True, autoincrement=False),
        Column("budget_year", Integer, nullable=False),
        Column("effective_date", Date, nullable=False),
        Column("project", String(8), nullable=False),
        Column("channel", String(24), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("amount", BIGINT, nullable=False),
        Column("record_id", Uuid, nullable=False),
        Column("reference", String(200), nullable=True),
    ),
    appended=True,
)

PARTS = (TargetProgress, BudgetExecution)
#: the money movements of the city-budget lines kept as transactions: commitments (approvals
#: of applications and activities, net of releases), disbursements (to applications),
#: expenditure (of activities) and recoveries; carry-overs move commitments between years
#: and are not transactions
TRANSACTION_KINDS = ("commitment", "disbursement", "expenditure", "recovery")
#: the enterprise facts an application is broken down by
FACTS = ("district", "sector", "size")


class Program(Composite):
    NAME = NAME
    PREFIX = PREFIX
    PARTS = PARTS
    TABLES = (
        APPLICATIONS,
        PAID,
        ENTERPRISES,
        ACTIVITIES,
        ACTIVITY_IDS,
        TRANSACTIONS,
        *Composite.copies(PREFIX, PARTS),
    )

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold itself are ignored (its parts fold theirs)."""

    # -- enterprises -----------------------------------------------------------------------

    @process_event.register
    def _registered(self, event: Enterprise.Registered, position: int) -> None:
        self.rows("program_enterprises").get_or_create(
            (event.originator_id,),
            lambda: {
                "enterprise_id": event.originator_id,
                "name": event.name,
                "district": event.district,
                "sector": event.sector,
                "size": event.size,
            },
        )

    @process_event.register
    def _corrected(self, event: Enterprise.Corrected, position: int) -> None:
        row = self.rows("program_enterprises").touch((event.originator_id,))
        if row is not None:
            row.update({k: v for k, v in event.changes.items() if k in (*FACTS, "name")})

    # -- applications ------------------------------------------------------------------------

    def _application(self, application_id: UUID) -> dict[str, Any] | None:
        return self.rows("program_applications").touch((application_id,))

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        self.rows("program_applications").get_or_create(
            (event.originator_id,),
            lambda: {
                "application_id": event.originator_id,
                "enterprise_id": event.enterprise_id,
                "project": event.project,
                "support_type": event.support_type,
                "approved_year": None,
                "budget_year": None,
                **dict.fromkeys(FACTS),
                "city": 0,
                "enterprise": 0,
                "other": 0,
                "cancelled_year": None,
                "accepted_year": None,
                "spent_enterprise": 0,
                "spent_other": 0,
            },
        )

    @process_event.register
    def _approved(self, event: SupportApplication.Approved, position: int) -> None:
        app = self._application(event.originator_id)
        if app is None:
            return
        enterprise = self.rows("program_enterprises").get((app["enterprise_id"],)) or {}
        app["approved_year"] = event.effective_date.year
        app["budget_year"] = event.budget_year
        app.update({fact: enterprise.get(fact) for fact in FACTS})
        app["city"] = event.approved.get(catalogue.CITY_BUDGET, 0)
        for source in catalogue.COUNTERPART_SOURCES:
            app[source] = event.approved.get(source, 0)

    @process_event.register
    def _cancelled(self, event: SupportApplication.Cancelled, position: int) -> None:
        app = self._application(event.originator_id)
        if app is not None:
            app["cancelled_year"] = event.effective_date.year

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        app = self._application(event.originator_id)
        if app is None:
            return
        app["accepted_year"] = event.effective_date.year
        spent = event.counterpart_spent or {}
        app["spent_enterprise"] = spent.get("enterprise", 0)
        app["spent_other"] = spent.get("other", 0)

    def _paid(self, event: Any, paid: int = 0, recovered: int = 0) -> None:
        year = event.effective_date.year
        row = self.rows("program_paid").get_or_create(
            (event.originator_id, year),
            lambda: {
                "application_id": event.originator_id,
                "year": year,
                "paid": 0,
                "recovered": 0,
            },
        )
        row["paid"] += paid
        row["recovered"] += recovered

    @process_event.register
    def _disbursed(self, event: SupportApplication.Disbursed, position: int) -> None:
        self._paid(event, paid=event.amount)

    @process_event.register
    def _reversed(self, event: SupportApplication.DisbursementReversed, position: int) -> None:
        self._paid(event, paid=-event.amount)

    @process_event.register
    def _recovered(self, event: SupportApplication.RecoveryReceived, position: int) -> None:
        self._paid(event, recovered=event.amount)

    # -- the city-budget lines' money, as transactions -----------------------------------------

    def _transaction(self, event: Any, position: int, kind: str, amount: int) -> None:
        year, project, source, channel = BUDGET_LINES[event.originator_id]
        if source != catalogue.CITY_BUDGET:
            return  # an old log's line of another source is no budget line
        references = event.references
        self.rows("program_transactions").append(
            {
                "position": position,
                "budget_year": year,
                "effective_date": event.effective_date,
                "project": project,
                "channel": channel,
                "kind": kind,
                "amount": amount,
                "record_id": event.record_id,
                "reference": "; ".join(f"{k}: {v}" for k, v in sorted(references.items()))[:200]
                or None,
            }
        )

    def _spending(self, record_id: UUID) -> str:
        """How paying a record counts: to an application, a disbursement; an activity's
        own spending, expenditure."""
        known = self.rows("program_applications").get((record_id,))
        return "disbursement" if known is not None else "expenditure"

    @process_event.register
    def _line_committed(self, event: BudgetLine.Committed, position: int) -> None:
        self._transaction(event, position, "commitment", event.amount)

    @process_event.register
    def _line_released(self, event: BudgetLine.Released, position: int) -> None:
        self._transaction(event, position, "commitment", -event.amount)

    @process_event.register
    def _line_disbursed(self, event: BudgetLine.Disbursed, position: int) -> None:
        self._transaction(event, position, self._spending(event.record_id), event.amount)

    @process_event.register
    def _line_reversed(self, event: BudgetLine.DisbursementReversed, position: int) -> None:
        self._transaction(event, position, self._spending(event.record_id), -event.amount)

    @process_event.register
    def _line_recovered(self, event: BudgetLine.Recovered, position: int) -> None:
        self._transaction(event, position, "recovery", event.amount)

    # -- department-run activities -------------------------------------------------------------

    def _activity_row(self, department: str, year: int) -> dict[str, Any]:
        return self.rows("program_activities").get_or_create(
            (department, year),
            lambda: {
                "department": department,
                "year": year,
                "activities": 0,
                "budget": 0,
                "spent": 0,
            },
        )

    @process_event.register
    def _activity_approved(self, event: ProgramActivity.Approved, position: int) -> None:
        self.rows("program_activity_ids").get_or_create(
            (event.originator_id,),
            lambda: {"activity_id": event.originator_id, "department": event.department_code},
        )
        row = self._activity_row(event.department_code, event.effective_date.year)
        row["activities"] += 1
        row["budget"] += event.budget

    @process_event.register
    def _activity_spent(self, event: ProgramActivity.Spent, position: int) -> None:
        found = self.rows("program_activity_ids").get((event.originator_id,))
        if found is not None:
            self._activity_row(found["department"], event.effective_date.year)["spent"] += (
                event.amount
            )


# -- the report ------------------------------------------------------------------------------

#: the money figures of a line, summed over the period's budget years
MONEY = budget_execution.FIGURES
#: what a breakdown of the support gives per group
SUPPORT = ("applications", "enterprises", "approved", "cancelled", "paid")
BREAKDOWNS = ("support_type", "project", "district", "sector", "size")


def report(
    connection: Connection, tables: dict[str, Table], first: int, last: int
) -> dict[str, Any]:
    """The program's results for the budget years ``first``–``last``: ``targets``,
    ``support`` (totals and ``by`` breakdown), ``money`` (``rows`` per project × source ×
    channel, ``totals``, ``counterpart`` per project) and ``activities`` per department."""
    grouped = _grouped(connection, tables, first, last)
    return {
        "targets": _targets(connection, tables, first, last),
        "support": _support(grouped),
        "money": _money(connection, tables, first, last, grouped),
        "activities": _activities(connection, tables, first, last),
    }


def _part(tables: dict[str, Table], name: str) -> dict[str, Table]:
    return {name: tables[PREFIX + name]}


def _targets(
    c: Connection, tables: dict[str, Table], first: int, last: int
) -> list[dict[str, Any]]:
    """Each target: ``by_year`` within the period, ``in_period``, ``achieved`` (cumulative
    from the program's start to the period's end), ``percent`` of the decision's value."""
    rows = target_progress.report(c, _part(tables, "target_progress"), last)
    for row in rows:
        row["by_year"] = {y: v for y, v in row["by_year"].items() if int(y) >= first}
        row["in_period"] = sum(row["by_year"].values())
    return rows


#: the counterpart figures of a project
COUNTERPART = (
    "pledged_enterprise",
    "pledged_other",
    "accepted_applications",
    "city_paid",
    "spent_enterprise",
    "spent_other",
)


def _per_application(tables: dict[str, Table], first: int, last: int) -> Any:
    """Each application the period touches (approved, cancelled, paid or accepted in it),
    with what the period's figures take of it: a CTE, read by every group of the support
    breakdown and of the counterpart money in one statement (each its own query, they took
    seconds at 1M events: every one grouped the payments again)."""
    apps, paid = tables["program_applications"], tables["program_paid"]
    in_period = and_(paid.c.year >= first, paid.c.year <= last)
    net = paid.c.paid - paid.c.recovered
    payments = (
        select(
            paid.c.application_id,
            func.sum(case((in_period, net), else_=0)).label("paid_in_period"),
            func.sum(net).label("paid_by_end"),
        )
        .where(paid.c.year <= last)
        .group_by(paid.c.application_id)
        .subquery("payments")
    )
    approved = and_(apps.c.approved_year >= first, apps.c.approved_year <= last)
    cancelled = and_(
        apps.c.approved_year.is_not(None),
        apps.c.cancelled_year >= first,
        apps.c.cancelled_year <= last,
    )
    accepted = and_(apps.c.accepted_year >= first, apps.c.accepted_year <= last)
    paid_in_period = func.coalesce(payments.c.paid_in_period, 0)
    return (
        select(
            apps.c.enterprise_id,
            apps.c.project,
            apps.c.support_type,
            apps.c.district,
            apps.c.sector,
            apps.c.size,
            case((approved, 1), else_=0).label("approved_in"),
            case((approved, apps.c.city), else_=0).label("city"),
            case((cancelled, 1), else_=0).label("cancelled_in"),
            paid_in_period.label("paid"),
            (
                case((approved, apps.c.enterprise), else_=0)
                - case((cancelled, apps.c.enterprise), else_=0)
            ).label("pledged_enterprise"),
            (
                case((approved, apps.c.other), else_=0) - case((cancelled, apps.c.other), else_=0)
            ).label("pledged_other"),
            case((accepted, 1), else_=0).label("accepted_in"),
            case((accepted, func.coalesce(payments.c.paid_by_end, 0)), else_=0).label("city_paid"),
            case((accepted, apps.c.spent_enterprise), else_=0).label("spent_enterprise"),
            case((accepted, apps.c.spent_other), else_=0).label("spent_other"),
        )
        .select_from(apps.outerjoin(payments, payments.c.application_id == apps.c.application_id))
        .where(or_(approved, cancelled, accepted, paid_in_period != 0))
        .cte("touched")
    )


Grouped = dict[tuple[str, Any], dict[str, int]]


def _grouped(c: Connection, tables: dict[str, Table], first: int, last: int) -> Grouped:
    """The support figures per breakdown group (and in total) and the counterpart figures per
    project, in one statement: {(breakdown, key): figures}."""
    a = _per_application(tables, first, last)
    figures = [
        func.sum(a.c.approved_in).label("applications"),
        func.count(distinct(case((a.c.approved_in == 1, a.c.enterprise_id)))).label("enterprises"),
        func.sum(a.c.city).label("approved"),
        func.sum(a.c.cancelled_in).label("cancelled"),
        func.sum(a.c.paid).label("paid"),
        func.sum(a.c.pledged_enterprise).label("pledged_enterprise"),
        func.sum(a.c.pledged_other).label("pledged_other"),
        func.sum(a.c.accepted_in).label("accepted_applications"),
        func.sum(a.c.city_paid).label("city_paid"),
        func.sum(a.c.spent_enterprise).label("spent_enterprise"),
        func.sum(a.c.spent_other).label("spent_other"),
    ]
    arms = [
        select(
            literal("total").label("breakdown"), cast(literal(""), String).label("key"), *figures
        )
    ]
    arms += [
        select(
            literal(column).label("breakdown"), cast(a.c[column], String).label("key"), *figures
        ).group_by(a.c[column])
        for column in BREAKDOWNS
    ]
    found: dict[tuple[str, Any], dict[str, int]] = {}
    for row in c.execute(union_all(*arms)).mappings():
        key = row["key"] if row["breakdown"] != "total" else None
        found[row["breakdown"], key] = {
            name: int(row[name] or 0) for name in (*SUPPORT, *COUNTERPART)
        }
    return found


def _support(grouped: Grouped) -> dict[str, Any]:
    def groups(column: str) -> list[dict[str, Any]]:
        rows = [
            {column: key, **{name: figures[name] for name in SUPPORT}}
            for (breakdown, key), figures in grouped.items()
            if breakdown == column and any(figures[name] for name in SUPPORT)
        ]
        return sorted(rows, key=lambda r: str(r[column] or ""))

    total = grouped.get(("total", None)) or dict.fromkeys(SUPPORT, 0)
    return {
        "total": {name: total[name] for name in SUPPORT},
        "by": {column: groups(column) for column in BREAKDOWNS},
    }


def _money(
    c: Connection, tables: dict[str, Table], first: int, last: int, grouped: Grouped
) -> dict[str, Any]:
    lines: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in budget_execution.report(c, _part(tables, "budget_execution")):
        if not first <= row["budget_year"] <= last:
            continue
        key = (row["project"], row["source"], row["channel"])
        line = lines.setdefault(
            key, {"project": key[0], "source": key[1], "channel": key[2], **dict.fromkeys(MONEY, 0)}
        )
        for figure in MONEY:
            line[figure] += row[figure]
    rows = [lines[key] for key in sorted(lines)]
    totals = {figure: sum(line[figure] for line in rows) for figure in MONEY}
    return {"rows": rows, "totals": totals, "counterpart": _counterpart(grouped)}


def _counterpart(grouped: Grouped) -> list[dict[str, Any]]:
    """Per project: the counterpart money pledged in the period's approvals, less the pledges
    of approvals cancelled in the period; and, for the applications whose acceptance was
    recorded in the period, what the city budget paid them (net of reversals and
    recoveries, by the period's end) beside what the enterprise and other sources recorded
    as spent, with each one's share of the three."""
    rows = []
    for (breakdown, project), figures in sorted(grouped.items(), key=lambda i: str(i[0][1])):
        if breakdown != "project" or not any(figures[name] for name in COUNTERPART):
            continue
        row: dict[str, Any] = {"project": project, **{n: figures[n] for n in COUNTERPART}}
        whole = row["city_paid"] + row["spent_enterprise"] + row["spent_other"]
        row["shares_percent"] = {
            name: (round(100 * row[figure] / whole, 1) if whole else None)
            for name, figure in (
                ("city_budget", "city_paid"),
                ("enterprise", "spent_enterprise"),
                ("other", "spent_other"),
            )
        }
        rows.append(row)
    return rows


def _activities(
    c: Connection, tables: dict[str, Table], first: int, last: int
) -> list[dict[str, Any]]:
    """Per department running activities: how many it was approved in the period, their
    budget, and what it spent in the period."""
    t = tables["program_activities"]
    query = (
        select(
            t.c.department,
            func.sum(t.c.activities).label("activities"),
            func.sum(t.c.budget).label("budget"),
            func.sum(t.c.spent).label("spent"),
        )
        .where(t.c.year >= first, t.c.year <= last)
        .group_by(t.c.department)
        .order_by(t.c.department)
    )
    return [
        {
            "department": row["department"],
            "activities": int(row["activities"]),
            "budget": int(row["budget"]),
            "spent": int(row["spent"]),
        }
        for row in c.execute(query).mappings()
    ]


def period(first: int, last: int) -> dict[str, Any]:
    """The period's ``kind`` (annual, mid_term 2011–2015, final 2011–2020, or period) and its
    report's Vietnamese title."""
    name = "Chương trình nâng cao năng suất và chất lượng sản phẩm, hàng hóa"
    if first == last:
        kind, title = "annual", f"Báo cáo kết quả thực hiện {name} năm {first}"
    elif (first, last) == (2011, 2015):
        kind, title = "mid_term", f"Báo cáo sơ kết giai đoạn 2011–2015 {name}"
    elif (first, last) == (2011, 2020):
        kind, title = "final", f"Báo cáo tổng kết giai đoạn 2011–2020 {name}"
    else:
        kind, title = "period", f"Báo cáo kết quả thực hiện {name} giai đoạn {first}–{last}"
    return {"from": first, "to": last, "kind": kind, "title": title}
