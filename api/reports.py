"""Report readers for the HTTP API: read models, the position they reflect, read-your-writes.

Every report answers ``{"position": N, "rows": [...]}`` with the position of the log its
projection reflects. With ``min_position=N`` (the ``position`` a command answered), the
reader first waits briefly (up to :data:`READ_YOUR_WRITES_WAIT` seconds) for the projection
to fold N; if it has not by then, the answer carries ``"stale": true`` and the position it
did reach. One :class:`~projections.runner.Projector` serves each ledger; ``ledger serve``
runs its live follower.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ledger.commands import BudgetYear, DepartmentCode, ProjectCode, SourceCode
from ledger.errors import NotFound
from ledger.service import Ledger
from ledger.support_application import STATUSES
from projections import (
    audit_trail,
    department_activity,
    journal,
    project_spend,
    registers,
    target_progress,
)
from projections.runner import Projector

READ_YOUR_WRITES_WAIT = 2.0

_projectors: weakref.WeakKeyDictionary[Ledger, Projector] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def projector_for(ledger: Ledger) -> Projector:
    with _lock:
        if ledger not in _projectors:
            _projectors[ledger] = Projector(ledger)
        return _projectors[ledger]


# -- query parameters ------------------------------------------------------------------------


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_position: int | None = Field(
        default=None, ge=0, description="wait briefly until the report reflects this position"
    )


class SpendQuery(ReportQuery):
    budget_year: BudgetYear | None = None
    project: ProjectCode | None = None
    source: SourceCode | None = None


class DepartmentQuery(ReportQuery):
    budget_year: BudgetYear | None = None
    department: DepartmentCode | None = None


class YearQuery(ReportQuery):
    budget_year: BudgetYear | None = None


class AuditQuery(ReportQuery):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    record_id: UUID | None = None
    actor: str | None = Field(default=None, max_length=64)
    department: DepartmentCode | None = None
    event_type: str | None = Field(default=None, max_length=64)
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    order: Literal["asc", "desc"] = "asc"
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=50, ge=1, le=500)


class ApplicationsQuery(ReportQuery):
    status: Literal[STATUSES] | None = None  # type: ignore[valid-type]
    project: ProjectCode | None = None
    budget_year: BudgetYear | None = None
    enterprise_id: UUID | None = None
    q: str | None = Field(default=None, max_length=200)
    page: int = Field(default=1, ge=1, le=1_000_000)
    page_size: int = Field(default=50, ge=1, le=500)


# -- readers -------------------------------------------------------------------------------


def _read(
    ledger: Ledger,
    name: str,
    params: ReportQuery | None,
    read: Callable[[Any, dict[str, Any]], dict[str, Any]],
) -> dict[str, Any]:
    projector = projector_for(ledger)
    wanted = params.min_position if params is not None else None
    if wanted is not None:
        projector.wait_for(name, wanted, timeout=READ_YOUR_WRITES_WAIT)
    with projector.reading(name) as (connection, tables, position):
        answer = {"position": position, **read(connection, tables)}
    if wanted is not None and position < wanted:
        answer["stale"] = True
    return answer


def project_spend_report(ledger: Ledger, _: Any, q: SpendQuery) -> dict[str, Any]:
    return _read(ledger, "project_spend", q, lambda c, t: {
        "rows": project_spend.report(c, t, q.budget_year, q.project, q.source)
    })  # fmt: skip


def department_activity_report(ledger: Ledger, _: Any, q: DepartmentQuery) -> dict[str, Any]:
    return _read(ledger, "department_activity", q, lambda c, t: {
        "rows": department_activity.report(c, t, q.budget_year, q.department)
    })  # fmt: skip


def targets_report(ledger: Ledger, _: Any, q: YearQuery) -> dict[str, Any]:
    return _read(ledger, "target_progress", q, lambda c, t: {
        "rows": target_progress.report(c, t, q.budget_year)
    })  # fmt: skip


def audit_trail_report(ledger: Ledger, _: Any, q: AuditQuery) -> dict[str, Any]:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, next_page = audit_trail.report(
            c, t, record_id=q.record_id, actor=q.actor, department=q.department,
            event_type=q.event_type, from_=q.from_, to=q.to, order=q.order, page=q.page,
            page_size=q.page_size,
        )  # fmt: skip
        return {"rows": rows, "next_page": next_page}

    return _read(ledger, "audit_trail", q, read)


def trial_balance_report(ledger: Ledger, _: Any, q: YearQuery) -> dict[str, Any]:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, total_debit, total_credit = journal.trial_balance(c, t, q.budget_year)
        return {"rows": rows, "total_debit": total_debit, "total_credit": total_credit}

    return _read(ledger, "journal", q, read)


def applications_report(ledger: Ledger, _: Any, q: ApplicationsQuery) -> dict[str, Any]:
    def read(c: Any, t: dict[str, Any]) -> dict[str, Any]:
        rows, next_page = registers.applications(
            c, t, status=q.status, project=q.project, budget_year=q.budget_year,
            enterprise_id=q.enterprise_id, q=q.q, page=q.page, page_size=q.page_size,
        )  # fmt: skip
        return {"rows": rows, "next_page": next_page}

    return _read(ledger, "registers", q, read)


# -- administration ------------------------------------------------------------------------

_rebuilds: dict[str, threading.Thread] = {}


def projections_status(ledger: Ledger, _: Any, __: Any) -> list[dict[str, Any]]:
    projector = projector_for(ledger)
    return [
        {
            "name": s.name, "position": s.position, "lag": s.lag, "last_error": s.last_error,
            "rebuilding": s.rebuilding or _running(s.name),
            "rebuild_position": s.rebuild_position,
        }
        for s in projector.status()
    ]  # fmt: skip


def _running(name: str) -> bool:
    thread = _rebuilds.get(name)
    return thread is not None and thread.is_alive()


def start_rebuild(ledger: Ledger, path: Mapping[str, Any], _: Any) -> dict[str, Any]:
    """Start rebuilding one projection in the background; answer at once."""
    projector = projector_for(ledger)
    name = str(path["name"])
    if name not in projector.classes:
        raise NotFound(f"No projection named {name!r}.")
    with _lock:
        if not _running(name):
            thread = threading.Thread(
                target=projector.rebuild, args=(name,), name=f"rebuild-{name}", daemon=True
            )
            _rebuilds[name] = thread
            thread.start()
    return {"name": name, "rebuilding": True}
