"""estimates: each year's annual estimate (dự toán) as its record holds it, stage by stage.

One row per budget year: the estimate's ``status`` and its ``document``: the needs reported,
every draft version with its lines and their justification, the returns, the appraisal (each
line drafted → appraised with the reason of a change) and the approval. The document is what
``AnnualEstimate.as_dict`` gives, made by applying the estimate's own events to it (the same
``apply`` the aggregate uses), so the page of the estimate reads one row instead of folding
the record per request. The budget lines an approval assigned are in ``registers``.
"""

from __future__ import annotations

import copy
from functools import singledispatchmethod
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Column, Connection, Integer, String, Table, select

from ledger.annual_estimate import COLLECTING, AnnualEstimate
from projections.base import Projection, TableDef
from projections.budget_execution import estimate_year

NAME = "estimates"

#: the parts of an estimate's document, as ``AnnualEstimate.as_dict`` names them
PARTS = ("needs", "drafts", "appraisal", "returns", "approval")

ESTIMATES = TableDef(
    "estimates",
    ("budget_year",),
    lambda name, md: Table(
        name,
        md,
        Column("budget_year", Integer, primary_key=True, autoincrement=False),
        Column("status", String(16), nullable=False),
        Column("document", JSON, nullable=False),
    ),
)


class Estimates(Projection):
    NAME = NAME
    TABLES = (ESTIMATES,)

    @singledispatchmethod
    def process_event(self, event: object, position: int) -> None:
        """Events of other records are ignored."""

    @process_event.register
    def _estimate_event(self, event: AnnualEstimate.Event, position: int) -> None:
        """Apply the event to a copy of the year's document (a kept row is never changed in
        place: replay snapshots share rows with the fold they were taken from)."""
        year = estimate_year(event.originator_id)
        held = self.rows("estimates").get_or_create((year,), lambda: _opened(year))
        state = SimpleNamespace(
            budget_year=year, status=held["status"], **copy.deepcopy(held["document"])
        )
        event.apply(state)
        held["status"] = state.status
        held["document"] = {part: getattr(state, part) for part in PARTS}


def _opened(year: int) -> dict[str, Any]:
    """A year's row as its ``Opened`` event leaves it."""
    document: dict[str, Any] = {
        "needs": [],
        "drafts": [],
        "appraisal": None,
        "returns": [],
        "approval": None,
    }
    return {"budget_year": year, "status": COLLECTING, "document": document}


def estimate(
    connection: Connection, tables: dict[str, Table], budget_year: int
) -> dict[str, Any] | None:
    """The estimate of ``budget_year`` as ``AnnualEstimate.as_dict`` gives it, or None if
    it has not opened."""
    table = tables["estimates"]
    row = connection.execute(
        select(table.c.status, table.c.document).where(table.c.budget_year == budget_year)
    ).first()
    if row is None:
        return None
    return {"budget_year": budget_year, "status": row.status, **row.document}


def years(connection: Connection, tables: dict[str, Table]) -> list[int]:
    """The years that have an estimate, oldest first."""
    table = tables["estimates"]
    return list(
        connection.execute(select(table.c.budget_year).order_by(table.c.budget_year)).scalars()
    )
