"""The draft estimate's inputs (``ledger/estimate_method.py``), read from the read models.

Read from ``registers`` (applications and department activities) and ``target_progress``,
in one snapshot in which both have folded the log up to the same position, after waiting
for them to reach the head of the log (catching them up here when no live follower runs in
this process). Never a replay of the log: a few grouped queries, whose answer is a few
hundred rows whatever the size of the log.

:func:`install` gives a ledger its provider (``Ledger.estimate_inputs``): the HTTP app's read
side and the command line do.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Table, and_, case, cast, func, select

from ledger import catalogue
from ledger.errors import EstimateInputsUnavailable
from ledger.estimate_method import (
    Activities,
    Decided,
    EstimateInputs,
    Pipeline,
    ProjectInputs,
    TargetFigures,
    Unpaid,
)
from ledger.messages import Message
from ledger.service import Ledger
from projections import registers, target_progress
from projections.base import SETS
from projections.projector import Projector
from projections.state import projection_state

#: the read models the inputs come from
SOURCES = (registers.NAME, target_progress.NAME)
#: how long to wait for them to reach the head of the log
WAIT_SECONDS = 30.0

#: an application's statuses while undecided, and once approved and not yet closed
PIPELINE_STATUSES = ("submitted", "appraised")
DECLINED_STATUSES = ("rejected", "withdrawn")
OPEN_STATUSES = ("approved", "contracted", "accepted", "acceptance_failed")


def install(ledger: Ledger, projector: Projector) -> None:
    """Give ``ledger`` its draft's inputs: read through ``projector``'s read models."""
    ledger.estimate_inputs = lambda budget_year: read_inputs(projector, budget_year)


def read_inputs(
    projector: Projector, budget_year: int, wait_seconds: float = WAIT_SECONDS
) -> EstimateInputs:
    """The inputs of the draft of ``budget_year``, as the read models stand at one position
    at or after the head of the log when called."""
    head = projector.head()
    deadline = time.monotonic() + wait_seconds
    wanted = head
    while True:
        for name in SOURCES:
            left = max(0.0, deadline - time.monotonic())
            reached = projector.wait_for(name, wanted, left)
            if reached < wanted:
                raise EstimateInputsUnavailable(
                    Message(
                        "The read model {name} has folded the log up to {reached}, not yet to "
                        "{wanted}: the estimate's figures cannot be read now; try again "
                        "shortly (`ledger projections status` tells why it lags).",
                        name=name,
                        reached=reached,
                        wanted=wanted,
                    )
                )
        with reading(projector) as (connection, tables, positions):
            if len(set(positions.values())) == 1:
                return _read(connection, tables, budget_year, positions[registers.NAME])
        wanted = max(positions.values())  # a follower moved one on meanwhile: catch up both
        if time.monotonic() > deadline:
            raise EstimateInputsUnavailable(
                Message(
                    "The read models kept moving apart while the estimate's figures were read; "
                    "try again shortly."
                )
            )


@contextlib.contextmanager
def reading(projector: Projector) -> Iterator[tuple[Connection, dict[str, Table], dict[str, int]]]:
    """One snapshot of the active sets of :data:`SOURCES` (as ``Projector.reading`` for one):
    the connection, their tables by name, and the position each reflects."""
    classes = [projector.select(name)[0] for name in SOURCES]
    engine = projector.engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                both = [t for c in classes for s in SETS for t in projector.tables(c, s).values()]
                names = ", ".join(f'"{t.name}"' for t in both)
                connection.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS SHARE MODE")
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN")  # one snapshot for every statement
            state = projection_state
            rows = connection.execute(
                select(state.c.name, state.c.active_set, state.c.position).where(
                    state.c.name.in_(SOURCES)
                )
            ).all()
            sets = {name: active for name, active, _ in rows}
            positions = {name: int(position) for name, _, position in rows}
            tables: dict[str, Table] = {}
            for cls in classes:
                tables.update(projector.tables(cls, sets[cls.NAME]))
            yield connection, tables, positions


def _money(column: Any, source: str = catalogue.CITY_BUDGET) -> ColumnElement[Any]:
    """An amount of a JSON funding split, as a big integer (NULL where there is none)."""
    return cast(column[source].as_string(), BigInteger)


def _channels(table: Table) -> list[ColumnElement[Any]]:
    """The channel column, where the read model keeps one (else every row is the default's)."""
    return [table.c.channel] if "channel" in table.c else []


def application_query(tables: dict[str, Table]) -> Any:
    """The applications grouped by what the method tells apart."""
    apps = tables["register_applications"]
    keys = [
        apps.c.project,
        apps.c.support_type,
        apps.c.status,
        apps.c.acceptance_result,
        apps.c.budget_year,
        *_channels(apps),
    ]
    return select(
        *keys,
        func.count().label("count"),
        func.coalesce(func.sum(_money(apps.c.requested)), 0).label("requested"),
        func.coalesce(func.sum(_money(apps.c.recommended)), 0).label("recommended"),
        func.coalesce(func.sum(_money(apps.c.approved)), 0).label("approved"),
        func.count(apps.c.approved).label("approved_count"),
        func.coalesce(func.sum(apps.c.disbursed - apps.c.recovered), 0).label("paid"),
    ).group_by(*keys)


def activity_query(tables: dict[str, Table], budget_year: int) -> Any:
    """The activities of the years before ``budget_year`` by project, channel and year."""
    acts = tables["register_activities"]
    completed = acts.c.status == "completed"
    keys = [acts.c.project, acts.c.budget_year, *_channels(acts)]
    return (
        select(
            *keys,
            func.count().label("count"),
            func.sum(case((completed, acts.c.spent), else_=acts.c.budget)).label("cost"),
            func.sum(case((completed, 0), else_=acts.c.budget - acts.c.spent)).label("unpaid"),
            func.sum(case((and_(~completed, acts.c.budget > acts.c.spent), 1), else_=0)).label(
                "open"
            ),
        )
        .where(acts.c.budget_year < budget_year)
        .group_by(*keys)
    )


def target_query(tables: dict[str, Table]) -> Any:
    progress = tables["target_progress"]
    return select(progress.c.target, func.sum(progress.c.achieved)).group_by(progress.c.target)


def _read(
    connection: Connection, tables: dict[str, Table], budget_year: int, position: int
) -> EstimateInputs:
    pipeline: dict[str, dict[str, Any]] = {}
    decided: dict[str, dict[str, int]] = {}
    unpaid: dict[str, dict[str, list[int]]] = {}
    activities: dict[str, dict[str, dict[int, int]]] = {}
    targets: dict[str, dict[str, int]] = {
        code: {"achieved": 0, "cost": 0, "approved": 0, "approved_amount": 0}
        for code in catalogue.TARGETS
    }
    figures_of = ("count", "requested", "recommended", "approved", "approved_count", "paid")
    for found in connection.execute(application_query(tables)).mappings():
        row: dict[str, Any] = {**found, **{k: int(found[k]) for k in figures_of}}
        row.setdefault("channel", catalogue.DEFAULT_CHANNEL)
        earlier = row["budget_year"] is not None and row["budget_year"] < budget_year
        project, status = row["project"], row["status"]
        support = catalogue.SUPPORT_TYPES.get(row["support_type"])
        target = support.target if support is not None else None
        if status in PIPELINE_STATUSES:
            p = pipeline.setdefault(
                project,
                {"submitted": 0, "submitted_amount": 0, "appraised": 0, "appraised_amount": 0},
            )
            amount = row["requested"] if status == "submitted" else row["recommended"]
            p[status] += row["count"]
            p[f"{status}_amount"] += amount
            if target is not None:
                by_target = p.setdefault("by_target", {})
                by_target[target] = by_target.get(target, 0) + amount
            continue
        approved = row["approved_count"] > 0
        if approved or status in DECLINED_STATUSES:
            d = decided.setdefault(
                project, {"decided": 0, "requested": 0, "approved": 0, "granted": 0}
            )
            d["decided"] += row["count"]
            d["requested"] += row["requested"]
            d["approved"] += row["approved_count"]
            d["granted"] += row["approved"]
        if status in OPEN_STATUSES and earlier:
            left = row["approved"] - row["paid"]
            owed = unpaid.setdefault(project, {}).setdefault(row["channel"], [0, 0])
            owed[0] += left
            owed[1] += row["count"]
        if target is not None and approved:
            t = targets[target]
            t["approved"] += row["approved_count"]
            t["approved_amount"] += row["approved"]
            if row["acceptance_result"] == "passed":
                t["cost"] += row["paid"] if status == "settled" else row["approved"]
    for found in connection.execute(activity_query(tables, budget_year)).mappings():
        act = {"channel": catalogue.DEFAULT_CHANNEL, **found}
        by_year = activities.setdefault(act["project"], {}).setdefault(act["channel"], {})
        by_year[act["budget_year"]] = by_year.get(act["budget_year"], 0) + int(act["cost"])
        if act["unpaid"]:
            owed = unpaid.setdefault(act["project"], {}).setdefault(act["channel"], [0, 0])
            owed[0] += int(act["unpaid"])
            owed[1] += int(act["open"])
    for code, achieved in connection.execute(target_query(tables)).all():
        if code in targets:
            targets[code]["achieved"] = int(achieved or 0)
    projects = {}
    for project in catalogue.PROJECTS:
        p = dict(pipeline.get(project, {}))
        projects[project] = ProjectInputs(
            project,
            pipeline=Pipeline(**p),
            decided=Decided(**decided.get(project, {})),
            activities={
                channel: Activities(sum(years.values()), tuple(sorted(years)))
                for channel, years in sorted(activities.get(project, {}).items())
            },
            unpaid={
                channel: Unpaid(amount, records)
                for channel, (amount, records) in sorted(unpaid.get(project, {}).items())
            },
        )
    return EstimateInputs(
        budget_year=budget_year,
        position=position,
        projects=projects,
        targets={code: TargetFigures(code, **figures) for code, figures in targets.items()},
    )
