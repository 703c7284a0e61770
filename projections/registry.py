"""Every projection, in the order they are caught up and listed."""

from __future__ import annotations

from projections.base import Projection
from projections.project_spend import ProjectSpend

PROJECTIONS: tuple[type[Projection], ...] = (ProjectSpend,)

BY_NAME: dict[str, type[Projection]] = {p.NAME: p for p in PROJECTIONS}
