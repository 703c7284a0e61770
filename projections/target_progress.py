"""target_progress: what the program achieved toward each of its eight targets, per year.

Units are counted as the program catalogue says (``ledger/catalogue.py``). For a target
whose unit is ``enterprises`` (``unit_kind == "enterprises"``), the distinct enterprises
with a passed acceptance of a support type of that target: an enterprise counts once per
target over the whole program, in the year of its earliest passed acceptance (by effective
date; a passed acceptance recorded later with an earlier date moves it to that year). For
the other targets (``unit_kind == "sum"``: registrations, marks, standards), the sum of the
outputs recorded at passed acceptances, in the year of each acceptance. The year is the
acceptance's effective date's. A passed acceptance is final (no later event undoes it).

Tables: ``target_progress``, achieved per target × year; ``target_progress_apps``, each
application of a support type whose target counts enterprises, with its enterprise and
support type (from ``Submitted``); ``target_progress_counted``, each (target, enterprise)
already counted, with the year it is counted in.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Uuid, select

from ledger import catalogue
from ledger.support_application import SupportApplication
from projections.base import BIGINT, Projection, TableDef

NAME = "target_progress"

PROGRESS = TableDef(
    "target_progress",
    ("target", "year"),
    lambda name, md: Table(
        name,
        md,
        Column("target", String(32), primary_key=True),
        Column("year", Integer, primary_key=True),
        Column("achieved", BIGINT, nullable=False),
    ),
)

APPS = TableDef(
    "target_progress_apps",
    ("application_id",),
    lambda name, md: Table(
        name,
        md,
        Column("application_id", Uuid, primary_key=True),
        Column("enterprise_id", Uuid, nullable=False),
        Column("support_type", String(40), nullable=False),
    ),
)

COUNTED = TableDef(
    "target_progress_counted",
    ("target", "enterprise_id"),
    lambda name, md: Table(
        name,
        md,
        Column("target", String(32), primary_key=True),
        Column("enterprise_id", Uuid, primary_key=True),
        Column("year", Integer, nullable=False),
    ),
)

#: support type -> the target it counts toward, for the targets that count enterprises
COUNTS_ENTERPRISES: dict[str, str] = {
    code: support.target
    for code, support in catalogue.SUPPORT_TYPES.items()
    if support.target is not None and catalogue.TARGETS[support.target].unit_kind == "enterprises"
}

#: targets whose progress is the sum of the outputs recorded at acceptance
SUMMED = frozenset(code for code, t in catalogue.TARGETS.items() if t.unit_kind == "sum")


class TargetProgress(Projection):
    NAME = NAME
    TABLES = (PROGRESS, APPS, COUNTED)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events this projection does not fold are ignored."""

    def _add(self, target: str, year: int, amount: int) -> None:
        row = self.rows("target_progress").get_or_create(
            (target, year), lambda: {"target": target, "year": year, "achieved": 0}
        )
        row["achieved"] += amount

    @process_event.register
    def _submitted(self, event: SupportApplication.Submitted, position: int) -> None:
        if event.support_type in COUNTS_ENTERPRISES:
            self.rows("target_progress_apps").get_or_create(
                (event.originator_id,),
                lambda: {
                    "application_id": event.originator_id,
                    "enterprise_id": event.enterprise_id,
                    "support_type": event.support_type,
                },
            )

    @process_event.register
    def _accepted(self, event: SupportApplication.AcceptanceRecorded, position: int) -> None:
        if event.result != "passed":
            return
        year = event.effective_date.year
        summed = False
        for target, amount in event.outputs.items():
            if target in SUMMED:
                self._add(target, year, amount)
                summed = True
        if summed:
            return  # outputs name the application's own target: it does not count enterprises
        app = self.rows("target_progress_apps").get((event.originator_id,))
        if app is None:
            return  # a support type that counts no enterprises
        target = COUNTS_ENTERPRISES[app["support_type"]]
        enterprise_id = app["enterprise_id"]
        counted = self.rows("target_progress_counted").get((target, enterprise_id))
        if counted is None:
            self.rows("target_progress_counted").get_or_create(
                (target, enterprise_id),
                lambda: {"target": target, "enterprise_id": enterprise_id, "year": year},
            )
            self._add(target, year, 1)
        elif year < counted["year"]:
            self._add(target, counted["year"], -1)
            self._add(target, year, 1)
            self.rows("target_progress_counted").touch((target, enterprise_id))
            counted["year"] = year


def report(
    connection: Connection, tables: dict[str, Table], budget_year: int | None = None
) -> list[dict[str, Any]]:
    """Rows ``{target, project, unit, target_value, achieved, percent, by_year}`` for the eight
    targets in the decision's order; ``achieved`` is cumulative up to and including
    ``budget_year`` (all years without it), ``by_year`` maps each year (as a string) up to it
    to what was achieved in that year, and ``percent`` is achieved / target × 100, rounded to
    one decimal."""
    progress = tables["target_progress"]
    query = select(progress).order_by(progress.c.target, progress.c.year)
    if budget_year is not None:
        query = query.where(progress.c.year <= budget_year)
    by_target: dict[str, dict[str, int]] = {code: {} for code in catalogue.TARGETS}
    for row in connection.execute(query).mappings():
        if row["achieved"] and row["target"] in by_target:
            by_target[row["target"]][str(row["year"])] = row["achieved"]
    result = []
    for code, target in catalogue.TARGETS.items():
        achieved = sum(by_target[code].values())
        result.append(
            {
                "target": code,
                "project": target.project,
                "unit": target.unit,
                "target_value": target.number,
                "achieved": achieved,
                "percent": round(100 * achieved / target.number, 1),
                "by_year": by_target[code],
            }
        )
    return result
