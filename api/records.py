"""The budget lines and an application's state, read from the registers read model
(``projections/registers.py``), never folded per request, and never older than the log.

A reader takes the log's head first. If the registers have folded it, the answer comes from
them, kept while they stay at that position (``ReadSide.kept``); if they have not (a command
committed a moment ago and the live follower has not folded it yet), from the records
themselves, as before: a client that has just written reads what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from uuid import UUID

from api.read_side import ReadSide
from ledger.errors import NotFound
from ledger.vocabulary import not_found
from projections import registers

T = TypeVar("T")


MODELS = (registers.NAME,)


def _registered(
    side: ReadSide, key: Hashable, read: Callable[[Any, Any], T], fallback: Callable[[], T]
) -> T:
    """``read`` of the registers if they hold the head of the log (the answer kept by
    ``key`` while they stay at their position), else ``fallback``."""
    head = side.ledger.position()
    positions = side.projector.positions(MODELS)
    if positions[0] < head:
        return fallback()

    def make() -> T:
        with side.projector.reading(registers.NAME) as (connection, tables, _):
            return read(connection, tables)

    return side.kept(key, MODELS, make, positions)


def budget_lines(side: ReadSide, _: Any, q: Any, __: Any) -> list[dict[str, Any]]:
    """``GET /api/budget-lines``: the city-budget lines, as ``Ledger.get_budget_lines``."""
    filters = (q.budget_year, q.project, q.source, q.channel)
    return _registered(
        side,
        ("budget-lines", filters),
        lambda c, t: registers.budget_lines(c, t, *filters),
        lambda: side.ledger.get_budget_lines(*filters),
    )


def application(side: ReadSide, path: Any, _: Any, __: Any) -> dict[str, Any]:
    """``GET /api/applications/{id}``: its state, as ``Ledger.get_application``."""
    application_id: UUID = path["application_id"]

    def read(connection: Any, tables: Any) -> dict[str, Any]:
        found = registers.application(connection, tables, application_id)
        if found is None:
            raise NotFound(not_found("application", application_id))
        return found

    return _registered(
        side,
        ("application", application_id),
        read,
        lambda: side.ledger.get_application(application_id),
    )
