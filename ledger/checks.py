"""The whole ledger's invariants, checked after the fact: every problem as data.

Every command checks its rules before anything is written (ARCHITECTURE.md, Invariants); this
reads the whole ledger back and says what, if anything, does not hold: for the demo's tests,
and for ``ledger projections check`` beside the read models' reconciliation. Each problem
(:class:`ledger.problems.Problem`) names the kind of record, ``budget_line``,
``application`` or ``activity``, as its ``source`` and the record as its ``record_id``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic
from sqlalchemy import case, func, select

from ledger import catalogue
from ledger.budget_line import BudgetLine
from ledger.budget_year import BudgetYear
from ledger.problems import Problem
from ledger.program_activity import ProgramActivity
from ledger.service import Ledger
from ledger.support_application import STATUSES, SupportApplication

__all__ = ["check_invariants"]

CITY = "city_budget"
#: what every problem found here is
BROKEN = "broken invariant"

A = TypeVar("A", bound=Aggregate)

PRE_APPROVAL = frozenset({"submitted", "returned", "appraised", "rejected", "withdrawn"})
CONTRACT_STATUSES = frozenset({"contracted", "accepted", "acceptance_failed", "settled"})


def _aggregates(ledger: Ledger) -> dict[str, list[tuple[UUID, int]]]:
    """Every aggregate in the log, oldest first, by the topic of the event that made it:
    its id and last version. One statement reads them all, so they are one moment of the
    log: a writer's transaction is in it whole or not at all."""
    table = ledger.events_table
    made_by = func.max(case((table.c.originator_version == 1, table.c.topic)))
    query = (
        select(table.c.originator_id, made_by, func.max(table.c.originator_version))
        .group_by(table.c.originator_id)
        .order_by(func.min(table.c.id))
    )
    found: dict[str, list[tuple[UUID, int]]] = defaultdict(list)
    with ledger.engine.connect() as connection:
        for originator_id, topic, version in connection.execute(query):
            found[topic].append((UUID(str(originator_id)), version))
    return found


def _as_it_was(ledger: Ledger, cls: type[A], aggregate_id: UUID, version: int) -> A:
    """The aggregate at ``version``: the cached one if it is that version still."""
    aggregate: Aggregate = ledger.repository.get(aggregate_id)
    if aggregate.version != version:  # written to since
        aggregate = ledger.repository.get(aggregate_id, version=version)
    assert isinstance(aggregate, cls)
    return aggregate


#: per record (application or activity), what the city-budget lines' events say of it
RecordFigures = Counter[str]


def check_invariants(ledger: Ledger) -> list[Problem]:
    """Every problem with the money and the lifecycles in ``ledger``, as data (empty: none).

    Budget lines (city budget; lines of the enterprise and other sources in an old log are
    not budget lines and are passed over): committed ≥ 0, available ≥ 0, disbursed −
    recovered ≤ committed, 0 ≤ recovered ≤ disbursed. Every line of a closed year conserves
    money: assigned + carried in = committed + cancelled and committed = disbursed −
    recovered + carried out; what it carried out is what the same line of the next year
    carried in. The lines reconcile with the records that commit, pay, recover and carry on
    them, whichever years' lines they drew on. Applications: disbursed − recovered ≤ the
    approved city-budget share, and the status agrees with the rest of the state.
    Activities: spent ≤ budget.

    Every record is read as it was at one moment of the log, so a check beside writers
    finds only what is wrong, never a transaction half seen.
    """
    problems: list[Problem] = []
    aggregates = _aggregates(ledger)
    on_lines: dict[UUID, RecordFigures] = defaultdict(Counter)
    #: line id -> record id -> what the line's events say of the record
    by_line: dict[UUID, dict[UUID, RecordFigures]] = {}

    budget_lines = [
        _as_it_was(ledger, BudgetLine, line_id, version)
        for line_id, version in aggregates[get_topic(BudgetLine.Assigned)]
    ]
    budget_lines = [line for line in budget_lines if line.source == CITY]
    budget_lines.sort(key=lambda line: (line.budget_year, line.project, line.channel))
    closed = _closed_years(ledger, aggregates)
    by_key = {(line.budget_year, line.project, line.channel): line for line in budget_lines}
    for budget_line in budget_lines:
        records: dict[UUID, RecordFigures] = defaultdict(Counter)
        for event in ledger.events.get(budget_line.id, lte=budget_line.version):
            _fold_record(records, event)
        for record_id, figures in records.items():
            on_lines[record_id].update(figures)
        by_line[budget_line.id] = records
        problems += _line_problems(budget_line, closed, by_key)

    for application_id, version in aggregates[get_topic(SupportApplication.Submitted)]:
        application = _as_it_was(ledger, SupportApplication, application_id, version)
        found = _application_problems(application)
        if application.budget_year is not None and application.approved_city_budget:
            approved = application.approved_city_budget
            out = application.disbursed - application.recovered
            expected = {
                "committed": out if application.is_closed else approved,
                "disbursed": application.disbursed,
                "recovered": application.recovered,
                "carried": 0,
            }
            mine = on_lines.pop(application_id, Counter())
            if application.drawing_year != application.budget_year or _was_carried(mine):
                expected["carried"] = _carried(ledger, application_id, version)
            found += _reconcile(mine, expected)
        problems += [_problem("application", application_id, m) for m in found]

    for activity_id, version in aggregates[get_topic(ProgramActivity.Approved)]:
        activity = _as_it_was(ledger, ProgramActivity, activity_id, version)
        where = ("activity", activity_id)
        found = []
        if not 0 <= activity.spent <= activity.budget:
            found.append(f"spent {activity.spent} outside 0..{activity.budget}")
        if activity.status not in ("approved", "completed"):
            found.append(f"unknown status {activity.status!r}")
        expected = {
            "committed": activity.spent if activity.status == "completed" else activity.budget,
            "disbursed": activity.spent,
            "recovered": 0,
            "carried": 0,
        }
        mine = on_lines.pop(activity_id, Counter())
        if activity.drawing_year != activity.budget_year or _was_carried(mine):
            expected["carried"] = _carried(ledger, activity_id, version)
        found += _reconcile(mine, expected)
        problems += [_problem(*where, m) for m in found]

    unknown = {record_id for record_id, figures in on_lines.items() if any(figures.values())}
    for budget_line in budget_lines:
        problems += _unknown_records(budget_line, by_line[budget_line.id], unknown)
    return problems


def _unknown_records(
    line: BudgetLine, records: dict[UUID, RecordFigures], unknown: set[UUID]
) -> list[Problem]:
    """A line's money moved for records the log does not hold: the line does not reconcile
    with its records."""
    theirs: RecordFigures = Counter()
    for record_id in unknown & set(records):
        theirs.update(records[record_id])
    label = f"{line.budget_year} {line.project} {line.channel}"
    found = []
    for name in ("committed", "disbursed", "recovered"):
        value = getattr(line, name)
        if theirs[name]:
            found.append(
                f"{label}: {name} {value} does not reconcile with its records "
                f"({value - theirs[name]})"
            )
    return [_problem("budget_line", line.id, m) for m in found]


def _closed_years(ledger: Ledger, aggregates: dict[str, list[tuple[UUID, int]]]) -> set[int]:
    years = set()
    for year_id, version in aggregates[get_topic(BudgetYear.Closed)]:
        budget_year = _as_it_was(ledger, BudgetYear, year_id, version)
        if budget_year.closed:
            years.add(budget_year.budget_year)
    return years


def _fold_record(on_lines: dict[UUID, RecordFigures], event: object) -> None:
    """What one line event says of the record it names: committed on lines (net of
    releases; a carry-in is counted apart), paid, recovered, carried out and in."""
    if isinstance(event, BudgetLine.Committed):
        on_lines[event.record_id]["committed"] += event.amount
    elif isinstance(event, BudgetLine.Released):
        on_lines[event.record_id]["committed"] -= event.amount
    elif isinstance(event, BudgetLine.Disbursed):
        on_lines[event.record_id]["disbursed"] += event.amount
    elif isinstance(event, BudgetLine.DisbursementReversed):
        on_lines[event.record_id]["disbursed"] -= event.amount
    elif isinstance(event, BudgetLine.Recovered):
        on_lines[event.record_id]["recovered"] += event.amount
    elif isinstance(event, BudgetLine.CarriedOut):
        on_lines[event.record_id]["carried_out"] += event.amount
    elif isinstance(event, BudgetLine.CarriedIn):
        on_lines[event.record_id]["carried_in"] += event.amount


def _was_carried(on_lines: RecordFigures) -> bool:
    return bool(on_lines["carried_out"] or on_lines["carried_in"])


def _carried(ledger: Ledger, record_id: UUID, version: int) -> int:
    """What year closes carried of a record, by its own events."""
    return sum(
        event.amount
        for event in ledger.events.get(record_id, lte=version)
        if isinstance(
            event, SupportApplication.CommitmentCarried | ProgramActivity.CommitmentCarried
        )
    )


def _reconcile(on_lines: RecordFigures, expected: dict[str, int]) -> list[str]:
    """A record against its lines: its commitment, net of releases and taken over all the
    years it drew on (a carry-over moves it, never adds to it), its payments, recoveries and
    carry-overs."""
    found = []
    for name in ("committed", "disbursed", "recovered"):
        if on_lines[name] != expected[name]:
            found.append(
                f"{name} {on_lines[name]} on its budget lines does not reconcile with the "
                f"record ({expected[name]})"
            )
    carried = expected["carried"]
    if not on_lines["carried_out"] == on_lines["carried_in"] == carried:
        found.append(
            f"carried out {on_lines['carried_out']} and carried in {on_lines['carried_in']} on "
            f"its budget lines, {carried} by its own events"
        )
    return found


def _line_problems(
    line: BudgetLine, closed: set[int], by_key: dict[tuple[int, str, str], BudgetLine]
) -> list[Problem]:
    where = ("budget_line", line.id)
    label = f"{line.budget_year} {line.project} {line.channel}"
    found = []
    if line.committed < 0 or line.available < 0:
        found.append(
            f"{label}: committed {line.committed}, available {line.available}: neither may be "
            "negative"
        )
    if line.disbursed - line.recovered > line.committed:
        found.append(
            f"{label}: paid out {line.disbursed - line.recovered} > committed {line.committed}"
        )
    if not 0 <= line.recovered <= line.disbursed:
        found.append(f"{label}: recovered {line.recovered} > disbursed {line.disbursed}")
    if line.budget_year in closed:
        after_close = "since the close of its year (reopen and close it again)"
        if line.assigned + line.carried_in != line.committed + line.cancelled:
            found.append(
                f"{label}: assigned {line.assigned} + carried in {line.carried_in} ≠ committed "
                f"{line.committed} + cancelled {line.cancelled} {after_close}"
            )
        paid = line.disbursed - line.recovered
        if line.committed != paid + line.carried_out:
            found.append(
                f"{label}: committed {line.committed} ≠ paid {paid} (net of recoveries) + "
                f"carried out {line.carried_out} {after_close}"
            )
        following = by_key.get((line.budget_year + 1, line.project, line.channel))
        carried_in = following.carried_in if following is not None else 0
        if line.carried_out != carried_in:
            found.append(
                f"{label}: carried out {line.carried_out}, the line of {line.budget_year + 1} "
                f"carried in {carried_in}"
            )
    return [_problem(*where, m) for m in found]


def _problem(source: str, record_id: UUID | str, detail: str) -> Problem:
    return Problem(source, BROKEN, f"record {record_id}", detail, record_id=str(record_id))


def _application_problems(a: SupportApplication) -> list[str]:
    found: list[str] = []
    if a.status not in STATUSES:
        return [f"unknown status {a.status!r}"]
    if sum(a.requested.values()) != a.total_cost:
        found.append("the requested amounts do not add up to the total cost")
    if not catalogue.support_type_allowed(a.support_type, a.project):
        found.append(f"support type {a.support_type} is not of project {a.project}")
    out = a.disbursed - a.recovered
    if out > a.approved_city_budget:
        found.append(f"paid out {out} > approved city-budget share {a.approved_city_budget}")
    if not 0 <= a.recovered <= a.recovery_ordered <= a.disbursed + a.recovered:
        found.append(
            f"recoveries out of order: recovered {a.recovered}, ordered {a.recovery_ordered}, "
            f"disbursed {a.disbursed}"
        )
    if a.status in PRE_APPROVAL:
        if a.approved is not None or a.budget_year is not None:
            found.append(f"{a.status} but carries an approval")
        if a.disbursements or a.contract_no is not None:
            found.append(f"{a.status} but has a contract or payments")
    else:
        if a.approved is None or a.budget_year is None:
            found.append(f"{a.status} without an approval")
        else:
            for source, amount in a.approved.items():
                if amount > a.requested.get(source, 0):
                    found.append(f"approved {source} {amount} above the request")
        if a.approved_by is not None and a.approved_by in (a.submitted_by, a.appraised_by):
            found.append("approved by the person who submitted or appraised it")
    if a.status in CONTRACT_STATUSES and a.contract_no is None:
        found.append(f"{a.status} without a contract")
    if a.disbursements and a.contract_no is None:
        found.append("payments without a contract")
    if a.status in ("accepted", "settled") and a.acceptance_result != "passed":
        found.append(f"{a.status} without a passed acceptance")
    if a.status == "acceptance_failed" and (a.acceptance_result != "failed" or a.outputs):
        found.append("a failed acceptance that counts outputs")
    target = catalogue.SUPPORT_TYPES[a.support_type].target
    if any(code != target for code in a.outputs):
        found.append(f"outputs {sorted(a.outputs)} are not toward {target}")
    return found
