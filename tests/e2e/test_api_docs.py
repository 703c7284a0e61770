"""The HTTP contract written down, on both databases: ``docs/api.md`` is what the served
``/openapi.json`` makes (``make docs`` rewrites it), the same every day, its table of problem
codes names every code the document has; ``ledger docs api`` writes and checks it; and the
server's own reference page ``/docs`` shows every endpoint of the document, public, without
script, linking only to what this server serves."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from starlette.testclient import TestClient

from api import docs, openapi
from api.problems import STATUS_OF_CODE
from api.reference import slug
from api.routes import ENDPOINTS
from api.web.security import CONTENT_SECURITY_POLICY
from ledger import commands
from tests.faults.harness import ROOT
from tests.support.cli import one_line_error, run

CONTRACT = ROOT / docs.PATH
REGENERATE = "run `make docs` (or `.venv/bin/ledger docs api`) from the repository's root"
#: the codes of the HTTP layer itself and their statuses (api/problems.py answers them)
HTTP_CODES = {
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "internal_error": 500,
}


def served(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def test_docs_api_md_is_what_the_served_openapi_document_makes(client: TestClient) -> None:
    committed = CONTRACT.read_text(encoding="utf-8")
    made = docs.update(committed, served(client))
    diff = "".join(
        list(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                made.splitlines(keepends=True),
                "docs/api.md (committed)",
                "docs/api.md (made from GET /openapi.json)",
                n=1,
            )
        )[:40]
    )
    assert made == committed, f"docs/api.md is out of date: {REGENERATE}.\n{diff}"


def test_every_link_of_the_contract_lands_in_it() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.MULTILINE):  # as GitHub names them
        anchors.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    links = re.findall(r"\]\((#[^)]*)\)", text)
    assert links
    assert sorted({link for link in links if link[1:] not in anchors}) == []
    assert not re.search(r"\]\((?!#)", text), "a link out of the contract"


def test_the_contract_reads_the_same_whatever_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Effective dates run up to today in the document; the contract says so in words."""
    made = []
    for day in (dt.date(2026, 12, 31), dt.date(2031, 6, 15)):
        monkeypatch.setattr(commands, "today", lambda day=day: day)
        document = openapi.document(ENDPOINTS)
        made.append(docs.markdown(document))
    assert made[0] == made[1]
    assert "a day from 2010-01-01 to today" in made[0]


def test_the_contract_explains_every_problem_code_with_its_status(client: TestClient) -> None:
    narrative = CONTRACT.read_text(encoding="utf-8").partition(docs.BEGIN)[0]
    table = dict(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", narrative, re.MULTILINE))
    codes = served(client)["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert set(table) == set(codes), "docs/api.md's table of codes: add or remove a row"
    statuses = {**STATUS_OF_CODE, **HTTP_CODES}
    assert {code: int(status) for code, status in table.items()} == {
        code: statuses[code] for code in codes
    }


def test_ledger_docs_api_writes_the_contract_and_checks_it(tmp_path: Path) -> None:
    target = tmp_path / "api.md"
    target.write_text(CONTRACT.read_text(encoding="utf-8"), encoding="utf-8")
    assert run(None, "docs", "api", "--out", str(target), "--check").exit_code == 0
    stale = CONTRACT.read_text(encoding="utf-8").replace("#### `GET /api/health`", "#### old")
    target.write_text(stale, encoding="utf-8")
    refused = run(None, "docs", "api", "--out", str(target), "--check")
    assert refused.exit_code == 1
    assert "is out of date" in one_line_error(refused) and "make docs" in refused.stderr
    assert target.read_text(encoding="utf-8") == stale  # a check writes nothing
    written = run(None, "docs", "api", "--out", str(target))
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == CONTRACT.read_text(encoding="utf-8")
    unmarked = tmp_path / "plain.md"
    unmarked.write_text("# Notes\n", encoding="utf-8")
    refused = run(None, "docs", "api", "--out", str(unmarked))
    assert "api-reference:begin" in one_line_error(refused)
    assert unmarked.read_text(encoding="utf-8") == "# Notes\n"
    missing = run(None, "docs", "api", "--out", str(tmp_path / "none.md"))
    assert "none.md" in one_line_error(missing)


# -- the page ---------------------------------------------------------------------------------


class Page(HTMLParser):
    """What the reference page holds: its ids, links, endpoints and sections."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.endpoints: dict[str, str] = {}
        self.sections: list[str] = []
        self.scripts = 0
        self._endpoint: str | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.append(str(found["id"]))
        for name in ("href", "src", "action", "srcset", "data", "poster"):
            if found.get(name) is not None:
                self.links.append(str(found[name]))
        self.scripts += tag == "script"
        classes = (found.get("class") or "").split()
        if tag == "article" and "endpoint" in classes:
            self._endpoint = found["id"]
        if tag == "section" and "tag" in classes:
            self.sections.append(str(found["id"]))
        if tag == "h3" and self._endpoint is not None:
            self._heading = []

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None and self._endpoint is not None:
            self.endpoints[self._endpoint] = " ".join("".join(self._heading).split())
            self._heading, self._endpoint = None, None


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_reference_page_lists_every_operation_of_the_document(client: TestClient) -> None:
    document = served(client)
    answer = client.get("/docs")  # no sign-in
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"
    page = parsed(answer.text)
    assert page.scripts == 0 and "<script" not in answer.text
    operations = {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert page.endpoints == operations
    # one section per tag, in the document's order, and a table of contents
    assert page.sections == [f"tag-{slug(tag['name'])}" for tag in document["tags"]]
    for anchor in [*operations, *page.sections]:
        assert f'href="#{anchor}"' in answer.text, anchor
    assert len(page.ids) == len(set(page.ids))


def test_the_reference_page_links_only_to_what_this_server_serves(client: TestClient) -> None:
    html = client.get("/docs").text
    page = parsed(html)
    assert page.links
    for link in page.links:
        where = urlparse(link)
        assert not where.scheme and not where.netloc, link  # nothing from elsewhere
        if link.startswith("#"):
            assert link[1:] in page.ids, link  # every anchor lands
        elif link != "/dang-xuat":  # the sign-out form (signed in only)
            assert client.get(link).status_code == 200, link
    assert "/static/style.css" in page.links


def test_every_page_links_to_the_reference(client: TestClient) -> None:
    for path in ("/", "/dang-nhap", "/docs"):
        assert 'href="/docs"' in client.get(path).text, path
