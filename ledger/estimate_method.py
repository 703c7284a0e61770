"""The draft method of the annual estimate: from the ledger's figures to proposed lines.

A pure function (:func:`draft_lines`) of a plain set of inputs (:class:`EstimateInputs`).
The inputs are read from the read models at one position of the log by the edges
(``projections/estimate_inputs.py``), never by replaying the log; the reported needs come from
the estimate itself. The same inputs always give the same lines.

For the estimate of year Y, one line per project × channel of the city budget:

    line = pipeline + needs + activities + Σ target shortfalls

* **pipeline** — the applications submitted or appraised and not yet decided, at what they
  ask of the city budget (an appraised one: what the appraisal recommends), times the
  project's historical approval rate: the city budget approved to the project's decided
  applications over what those asked (decided: approved, rejected or withdrawn; the whole
  program's rate when the project has no decided application, 100 % when nothing was ever
  decided);
* **needs** — the needs the departments reported for Y;
* **activities** — the average yearly city budget of the departments' activities of the
  project on that channel, over the years before Y in which it had any (a completed
  activity counts what it spent, any other its approved budget);
* **target shortfall**, per target of the project while the program runs (Y ≤ its last
  year): what is still to achieve (the target's number less what passed acceptances
  achieved), spread evenly over the years Y … the last year of the program, times the
  average city-budget cost per unit achieved so far (what the applications that achieved
  the units cost the city: paid net of recoveries once settled, the approved share before),
  less what the pipeline (at the approval rate) and the needs of the target's support types
  already bring; never below 0. No unit achieved yet: the average approved city-budget
  share of the target's approved applications stands for the unit cost.

The pipeline, needs and targets are on the default channel (``science_recurrent``: an
application names its channel only when approved); activities on their own channel.

Each term is rounded to whole đồng on its own (half up), and the line is the sum of the
rounded terms, so the justification's amounts add up exactly to the line.

**Unpaid commitments** (committed to applications and activities approved in years before Y
and not yet paid, net of recoveries) are shown beside each line (``informational``) and not
added: they come to Y by carry-over when Y − 1 is closed (chuyển nguồn), which adds them to
Y's line and commits them there at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ledger import catalogue

#: the inputs a line's justification names
PIPELINE = "pipeline"
NEEDS = "needs"
ACTIVITIES = "activities"
TARGET = "target"  # written "target:<code>"
UNPAID = "unpaid_commitments"


@dataclass(frozen=True, slots=True)
class Need:
    """A need reported for the year (from the estimate itself)."""

    department: str
    project: str
    support_type: str
    enterprises: int
    amount: int


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A project's applications not yet decided: submitted (at their city-budget request)
    and appraised (at the recommended city-budget share)."""

    submitted: int = 0
    submitted_amount: int = 0
    appraised: int = 0
    appraised_amount: int = 0
    #: of the amounts above, those of support types counting toward each target
    by_target: Mapping[str, int] = field(default_factory=dict)

    @property
    def amount(self) -> int:
        return self.submitted_amount + self.appraised_amount

    @property
    def count(self) -> int:
        return self.submitted + self.appraised


@dataclass(frozen=True, slots=True)
class Decided:
    """A project's decided applications: how many, what they asked of the city budget, and
    how many were approved with what city-budget share."""

    decided: int = 0
    requested: int = 0
    approved: int = 0
    granted: int = 0


@dataclass(frozen=True, slots=True)
class Activities:
    """A project's department-run activities on one channel in the years before Y."""

    total: int = 0
    years: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Unpaid:
    """Committed and not yet paid on one channel, to records approved before Y."""

    amount: int = 0
    records: int = 0


@dataclass(frozen=True, slots=True)
class TargetFigures:
    """A target's progress and what its units cost the city budget so far."""

    target: str
    achieved: int = 0
    #: the city budget the applications that achieved the units cost
    cost: int = 0
    #: approved applications of the target's support types and their city-budget shares
    approved: int = 0
    approved_amount: int = 0


@dataclass(frozen=True, slots=True)
class ProjectInputs:
    project: str
    pipeline: Pipeline = Pipeline()
    decided: Decided = Decided()
    #: channel -> the project's activities on it
    activities: Mapping[str, Activities] = field(default_factory=dict)
    #: channel -> unpaid commitments of records approved before Y
    unpaid: Mapping[str, Unpaid] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EstimateInputs:
    """Everything the draft of ``budget_year`` is computed from, read at ``position``."""

    budget_year: int
    position: int
    projects: Mapping[str, ProjectInputs]
    targets: Mapping[str, TargetFigures]
    needs: tuple[Need, ...] = ()
    last_program_year: int = catalogue.PROGRAM.period_end


# -- arithmetic ---------------------------------------------------------------------------------


def whole(value: Fraction) -> int:
    """Whole đồng, half up (values here are never negative)."""
    return math.floor(value + Fraction(1, 2))


def vnd(amount: int | Fraction) -> str:
    value = amount if isinstance(amount, int) else whole(amount)
    return f"{value:,}".replace(",", ".") + " ₫"


def percent(rate: Fraction) -> str:
    return f"{float(rate * 100):.1f} %"


def approval_rate(inputs: EstimateInputs, project: str) -> tuple[Fraction, str]:
    """The project's approval rate by amount, and where it comes from."""
    own = inputs.projects[project].decided if project in inputs.projects else Decided()
    if own.requested > 0:
        return Fraction(own.granted, own.requested), (
            f"{vnd(own.granted)} approved of {vnd(own.requested)} asked by the "
            f"{own.decided} decided applications of {project}"
        )
    requested = sum(p.decided.requested for p in inputs.projects.values())
    granted = sum(p.decided.granted for p in inputs.projects.values())
    if requested > 0:
        return Fraction(granted, requested), (
            f"no decided application of {project}: the program's {vnd(granted)} approved of "
            f"{vnd(requested)} asked"
        )
    return Fraction(1), "no decided application yet: taken at 100 %"


def unit_cost(figures: TargetFigures) -> tuple[Fraction | None, str]:
    target = catalogue.TARGETS[figures.target]
    if figures.achieved > 0:
        return Fraction(figures.cost, figures.achieved), (
            f"{vnd(figures.cost)} for {figures.achieved} {target.unit} achieved"
        )
    if figures.approved > 0:
        return Fraction(figures.approved_amount, figures.approved), (
            f"nothing achieved yet: the average approved share of {figures.approved} "
            "approved applications"
        )
    return None, "no cost seen yet"


# -- the method ---------------------------------------------------------------------------------


def _item(name: str, amount: int, detail: str) -> dict[str, Any]:
    return {"input": name, "amount": amount, "detail": detail}


def draft_lines(inputs: EstimateInputs) -> list[dict[str, Any]]:
    """The draft's lines, by project then channel (in the catalogue's order): ``{project,
    source, channel, amount, justification: [{input, amount, detail}], informational:
    [{input, amount, detail}]}``;
    the justification's amounts add up to ``amount``. A line is proposed when it has an
    amount or unpaid commitments beside it."""
    year = inputs.budget_year
    years_left = inputs.last_program_year - year + 1
    lines: list[dict[str, Any]] = []
    for project in catalogue.PROJECTS:
        given = inputs.projects.get(project, ProjectInputs(project))
        rate, rate_source = approval_rate(inputs, project)
        justification: dict[str, list[dict[str, Any]]] = {}

        def add(channel: str, item: dict[str, Any], into: dict[str, list[Any]]) -> None:
            into.setdefault(channel, []).append(item)

        default = catalogue.DEFAULT_CHANNEL
        pipeline = given.pipeline
        if pipeline.count:
            amount = whole(pipeline.amount * rate)
            detail = (
                f"{pipeline.submitted} submitted applications asking "
                f"{vnd(pipeline.submitted_amount)} and {pipeline.appraised} appraised recommending "
                f"{vnd(pipeline.appraised_amount)}, at an approval rate of {percent(rate)} "
                f"({rate_source})"
            )
            add(default, _item(PIPELINE, amount, detail), justification)
        needs = [n for n in inputs.needs if n.project == project]
        if needs:
            by_department: dict[str, int] = {}
            for need in needs:
                by_department[need.department] = by_department.get(need.department, 0) + need.amount
            reported = ", ".join(f"{d} {vnd(a)}" for d, a in sorted(by_department.items()))
            enterprises = sum(n.enterprises for n in needs)
            detail = (
                f"{len(needs)} needs reported for {year}, {enterprises} enterprises: {reported}"
            )
            add(default, _item(NEEDS, sum(n.amount for n in needs), detail), justification)
        for channel in sorted(given.activities):
            activities = given.activities[channel]
            if not activities.years:
                continue
            amount = whole(Fraction(activities.total, len(activities.years)))
            detail = (
                f"departments' activities: {vnd(activities.total)} over "
                f"{len(activities.years)} years ({min(activities.years)}–"
                f"{max(activities.years)}), a yearly average"
            )
            add(channel, _item(ACTIVITIES, amount, detail), justification)
        if years_left > 0:
            for code, target in catalogue.TARGETS.items():
                if target.project != project:
                    continue
                figures = inputs.targets.get(code, TargetFigures(code))
                remaining = max(0, target.number - figures.achieved)
                if remaining == 0:
                    continue
                cost, cost_source = unit_cost(figures)
                if cost is None:
                    continue
                wanted = Fraction(remaining, years_left) * cost
                covered = pipeline.by_target.get(code, 0) * rate + sum(
                    n.amount for n in needs if catalogue.target_for(n.support_type) == target
                )
                shortfall = whole(max(Fraction(0), wanted - covered))
                if shortfall == 0:
                    continue
                detail = (
                    f"{remaining} {target.unit} still to achieve of {target.number} over "
                    f"{years_left} years ({year}–{inputs.last_program_year}) at {vnd(cost)} "
                    f"each ({cost_source}) = {vnd(wanted)} a year, less {vnd(covered)} "
                    "the pipeline and needs already bring"
                )
                add(default, _item(f"{TARGET}:{code}", shortfall, detail), justification)
        informational: dict[str, list[dict[str, Any]]] = {}
        for channel in sorted(given.unpaid):
            unpaid = given.unpaid[channel]
            if unpaid.amount <= 0:
                continue
            detail = (
                f"committed to {unpaid.records} applications and activities approved before "
                f"{year} and not yet paid: not added, it comes to {year} by carry-over at the "
                f"close of {year - 1}"
            )
            add(channel, _item(UNPAID, unpaid.amount, detail), informational)
        for channel in [
            ch for ch in catalogue.CHANNELS if ch in justification or ch in informational
        ]:
            items = justification.get(channel, [])
            amount = sum(item["amount"] for item in items)
            if amount == 0 and not informational.get(channel):
                continue
            lines.append(
                {
                    "project": project,
                    "source": catalogue.CITY_BUDGET,
                    "channel": channel,
                    "amount": amount,
                    "justification": items,
                    "informational": informational.get(channel, []),
                }
            )
    return lines
