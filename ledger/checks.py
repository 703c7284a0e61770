"""The whole ledger's invariants, checked after the fact: every problem as data.

Every command checks its rules before anything is written (DESIGN.md, Invariants); this
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


def check_invariants(ledger: Ledger) -> list[Problem]:
    """Every problem with the money and the lifecycles in ``ledger``, as data (empty: none).

    Budget lines: 0 ≤ committed ≤ assigned, disbursed − recovered ≤ committed, and the
    city-budget lines reconcile with the records that commit, pay and recover on them.
    Applications: disbursed − recovered ≤ the approved city-budget share, and the status
    agrees with the rest of the state. Activities: spent ≤ budget.

    Every record is read as it was at one moment of the log, so a check beside writers
    finds only what is wrong, never a transaction half seen.
    """
    problems: list[Problem] = []
    expected: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    aggregates = _aggregates(ledger)

    for application_id, version in aggregates[get_topic(SupportApplication.Submitted)]:
        application = _as_it_was(ledger, SupportApplication, application_id, version)
        found = _application_problems(application)
        problems += [_problem("application", application_id, m) for m in found]
        if application.budget_year is not None and application.approved_city_budget:
            approved = application.approved_city_budget
            out = application.disbursed - application.recovered
            figures = expected[application.budget_year, application.project]
            figures["committed"] += out if application.is_closed else approved
            figures["disbursed"] += application.disbursed
            figures["recovered"] += application.recovered

    for activity_id, version in aggregates[get_topic(ProgramActivity.Approved)]:
        activity = _as_it_was(ledger, ProgramActivity, activity_id, version)
        where = ("activity", activity_id)
        if not 0 <= activity.spent <= activity.budget:
            problems.append(
                _problem(*where, f"spent {activity.spent} outside 0..{activity.budget}")
            )
        if activity.status not in ("approved", "completed"):
            problems.append(_problem(*where, f"unknown status {activity.status!r}"))
        figures = expected[activity.budget_year, activity.project]
        figures["committed"] += (
            activity.spent if activity.status == "completed" else activity.budget
        )
        figures["disbursed"] += activity.spent

    budget_lines = [
        _as_it_was(ledger, BudgetLine, line_id, version)
        for line_id, version in aggregates[get_topic(BudgetLine.Assigned)]
    ]
    budget_lines.sort(key=lambda line: (line.budget_year, line.project, line.source))
    for line in (budget_line.as_dict() for budget_line in budget_lines):
        where = ("budget_line", line["id"])
        label = f"{line['budget_year']} {line['project']} {line['source']}"
        assigned, committed = line["assigned"], line["committed"]
        disbursed, recovered = line["disbursed"], line["recovered"]
        if not 0 <= committed <= assigned:
            problems.append(
                _problem(*where, f"{label}: committed {committed} outside 0..{assigned}")
            )
        if disbursed - recovered > committed:
            problems.append(
                _problem(
                    *where, f"{label}: paid out {disbursed - recovered} > committed {committed}"
                )
            )
        if not 0 <= recovered <= disbursed:
            problems.append(
                _problem(*where, f"{label}: recovered {recovered} > disbursed {disbursed}")
            )
        figures = expected.pop((line["budget_year"], line["project"]), Counter())
        if line["source"] != CITY:
            figures = Counter()
            expected_here = {"committed": 0, "disbursed": 0, "recovered": 0}
        else:
            expected_here = {k: figures[k] for k in ("committed", "disbursed", "recovered")}
        for name, value in expected_here.items():
            if line[name] != value:
                problems.append(
                    _problem(
                        *where,
                        f"{label}: {name} {line[name]} does not reconcile with its records "
                        f"({value})",
                    )
                )
    for (year, project), figures in sorted(expected.items()):
        if any(figures.values()):
            key = f"{year}/{project}/{CITY}"
            problems.append(Problem("budget_line", BROKEN, key, "records use a missing line"))
    return problems


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
