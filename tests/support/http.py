"""What a test's HTTP client reaches behind it, and the report routes."""

from __future__ import annotations

from typing import Any, cast

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


#: the reports that take a period or a year, which answer sections rather than rows: (the
#: path as the OpenAPI document writes it, the path asked, the parameters it needs)
SHAPED_REPORTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("/api/reports/program", "/api/reports/program", {"from": 2015, "to": 2015}),
    ("/api/reports/estimate/{budget_year}", "/api/reports/estimate/2015", {}),
    ("/api/reports/budget-execution", "/api/reports/budget-execution", {"budget_year": 2015}),
)


class Clerk:
    """Sends requests as one person and checks the status of each answer."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        success = response.status_code < 400
        media = "application/json" if success else "application/problem+json"
        assert response.headers["content-type"] == media, response.headers["content-type"]
        answer: dict[str, Any] = response.json()
        return answer

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()
