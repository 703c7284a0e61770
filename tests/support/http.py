"""What a test's HTTP client reaches behind it, and the report routes."""

from __future__ import annotations

from typing import cast

from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.read_side import ReadSide


def read_side_of(client: TestClient) -> ReadSide:
    """The read side of the app ``client`` talks to (``app.state.read_side``)."""
    # TestClient types its app as any ASGI callable; the client of a test holds create_app's
    app = cast(Starlette, client.app)
    return cast(ReadSide, app.state.read_side)


#: every report route of the API (with the list of applications, which reads a report table)
REPORTS = (
    "/api/reports/project-spend",
    "/api/reports/department-activity",
    "/api/reports/targets",
    "/api/reports/audit-trail",
    "/api/reports/trial-balance",
    "/api/applications",
)
