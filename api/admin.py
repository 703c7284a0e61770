"""The administrators' endpoints (``/api/admin/…``): the projections' state, and a rebuild
started in the background. Thin: each reads or drives the app's projector
(:mod:`projections.projector`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from api.answers import Out
from api.read_side import ReadSide
from ledger.errors import NotFound
from ledger.messages import Message
from projections.claims import Claim
from projections.projector import Projector

log = logging.getLogger(__name__)


# -- answers ---------------------------------------------------------------------------------


class ProjectionStatusOut(Out):
    """One projection of ``GET /api/admin/projections``."""

    name: str
    position: int = Field(description="the last position of the log it folded")
    lag: int = Field(description="events of the log not folded yet")
    last_error: str | None = Field(description="why its last catch-up failed; null: it did not")
    rebuilding: bool = Field(description="a live process holds its rebuild claim")
    rebuild_position: int | None = Field(
        description="how far the rebuild has folded; null unless rebuilding"
    )


class RebuildStartedOut(Out):
    """A rebuild claimed and started in the background (its progress: the projection's
    status)."""

    name: str
    rebuilding: Literal[True]


# -- readers ---------------------------------------------------------------------------------


def projections_status(read_side: ReadSide, _: Any, __: Any, ___: Any) -> list[dict[str, Any]]:
    projector = read_side.projector
    return [
        {
            "name": s.name,
            "position": s.position,
            "lag": s.lag,
            "last_error": s.last_error,
            "rebuilding": s.rebuilding,
            "rebuild_position": s.rebuild_position,
        }
        for s in projector.status()
    ]


def start_rebuild(read_side: ReadSide, path: Mapping[str, Any], _: Any, __: Any) -> dict[str, Any]:
    """Claim one projection for a rebuild (409 ``rebuild_in_progress`` if a live rebuild
    holds it), start rebuilding it in the background holding that claim; answer at once."""
    projector = read_side.projector
    name = str(path["name"])
    if name not in projector.classes:
        raise NotFound(Message("No projection named {name!r}.", name=name))
    claim = projector.claim_rebuild(name)
    try:
        threading.Thread(
            target=_rebuild, args=(projector, name, claim), name=f"rebuild-{name}", daemon=True
        ).start()
    except BaseException:
        claim.release()
        raise
    return {"name": name, "rebuilding": True}


def _rebuild(projector: Projector, name: str, claim: Claim) -> None:
    try:
        projector.rebuild(name, claim=claim)
    except Exception as error:  # kept in the projection's tracking row (status shows it)
        log.warning("rebuilding %s failed: %s", name, error)
