"""Every page in Chromium, for every role, on the demo program: signed in through the form,
figures equal to the JSON reports, the application list filtered and searched, a timeline
and its proof, a replay, downloads; no console error and no request leaving 127.0.0.1 on any
page; a screenshot of each under ``var/screenshots/``."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROLES, Site

PAGES = {
    "tong-quan": "/",
    "du-an-DA2": "/du-an/DA2",
    "so-nganh": "/so-nganh",
    "ho-so": "/ho-so",
    "doanh-nghiep": "/doanh-nghiep",
    "du-toan-2016": "/du-toan/2016",
    "bao-cao": "/bao-cao?tu=2011&den=2015",
}
AUDITORS = ("inspector", "finance")


class Watch:
    """What a page did that it should not: console errors, requests leaving 127.0.0.1."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        host = urlparse(request.url).hostname
        if host not in ("127.0.0.1", None):
            self.outside.append(request.url)


@pytest.fixture
def watched(page: Page) -> Iterator[tuple[Page, Watch]]:
    watch = Watch(page)
    yield page, watch
    assert watch.errors == [], watch.errors
    assert watch.outside == [], watch.outside


def sign_in(page: Page, site: Site, role: str, then: str = "/") -> None:
    page.goto(f"{site.base_url}/dang-nhap?tiep={then}")
    page.fill("#token", site.tokens[role])
    page.click("form.signin button[type=submit]")
    expect(page.locator("header .user")).to_contain_text("Đăng xuất")


def api(site: Site, path: str) -> Any:
    answer = httpx.get(
        site.base_url + path, headers={"Authorization": f"Bearer {site.tokens['viewer']}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_opens_for_every_role(
    site: Site, watched: tuple[Page, Watch], screenshots: Path, role: str
) -> None:
    page, watch = watched
    sign_in(page, site, role)
    for name, path in PAGES.items():
        answer = page.goto(site.base_url + path)
        assert answer is not None and answer.status == 200, (role, path)
        expect(page.locator("h1")).to_be_visible()
        page.screenshot(path=str(screenshots / f"{role}-{name}.png"), full_page=True)
    answer = page.goto(site.base_url + "/kiem-tra")
    assert answer is not None
    if role in AUDITORS:
        assert answer.status == 200
        page.screenshot(path=str(screenshots / f"{role}-kiem-tra.png"), full_page=True)
    else:
        assert answer.status == 403
        expect(page.locator("main")).to_contain_text("không được xem trang này")
        # the refusal itself is the one resource the console reports as failed
        assert watch.errors == [
            "Failed to load resource: the server responded with a status of 403 (Forbidden)"
        ]
        watch.errors.clear()
    page.click("header form button")  # sign out
    expect(page.locator("header .user")).to_contain_text("Đăng nhập")


def test_the_public_overview_and_signed_out_refusals(
    site: Site, watched: tuple[Page, Watch], screenshots: Path
) -> None:
    page, _ = watched
    page.goto(site.base_url + "/")
    page.screenshot(path=str(screenshots / "public-tong-quan.png"), full_page=True)
    spend = api(site, "/api/reports/project-spend")["rows"]
    assigned = sum(r["assigned"] for r in spend)
    disbursed = sum(r["disbursed"] for r in spend)
    cards = page.locator(".cards").inner_text()
    assert f"{assigned:,} ₫".replace(",", ".") in cards
    assert f"{disbursed:,} ₫".replace(",", ".") in cards
    targets = api(site, "/api/reports/targets")["rows"]
    table = page.locator("table.targets").inner_text()
    for target in targets:
        assert f"{target['percent']:.1f} %" in table
    page.goto(site.base_url + "/ho-so")
    assert urlparse(page.url).path == "/dang-nhap"


def test_the_application_list_the_timeline_and_its_proof(
    site: Site, watched: tuple[Page, Watch], screenshots: Path
) -> None:
    page, _ = watched
    sign_in(page, site, "officer", "/ho-so")
    page.select_option("select[name=du_an]", "DA2")
    page.click("form.filters button")
    rows = page.locator("table.applications tbody tr")
    expect(rows.first).to_be_visible()
    listed = api(site, "/api/applications?project=DA2&page_size=25")["rows"]
    assert rows.count() == len(listed)
    first = listed[0]
    page.fill("input[name=tim]", first["dossier_no"])
    page.click("form.filters button")
    expect(page.locator("table.applications tbody tr")).to_have_count(1)
    page.click(f"text={first['dossier_no']}")
    expect(page.locator("ol.timeline li").first).to_be_visible()
    history = api(site, f"/api/applications/{first['id']}/history")
    assert page.locator("ol.timeline li").count() == len(history)
    page.screenshot(path=str(screenshots / "officer-ho-so-chi-tiet.png"), full_page=True)
    page.locator("ol.timeline a", has_text="chứng minh").first.click()
    expect(page.locator("h1")).to_have_text("Chứng minh thuộc cây Merkle")
    leaf = page.locator("dl.facts code").inner_text()
    assert re.fullmatch("[0-9a-f]{64}", leaf)


def test_inspectors_replay_verify_and_download(
    site: Site, watched: tuple[Page, Watch], screenshots: Path
) -> None:
    page, _ = watched
    sign_in(page, site, "inspector", "/kiem-tra")
    page.fill("input[name=as_of]", "2015-12-31")
    page.click("form.filters >> nth=0 >> button")
    expect(page.locator("main")).to_contain_text("tính đến ngày 31/12/2015")
    page.screenshot(path=str(screenshots / "inspector-xem-lai.png"), full_page=True)
    page.goto(site.base_url + "/kiem-tra")
    page.click("text=Xác minh toàn bộ sổ cái")
    expect(page.locator("main")).to_contain_text("Sổ cái nguyên vẹn")
    page.goto(site.base_url + "/kiem-tra")
    with page.expect_download() as found:
        page.click("text=nhật ký kiểm toán (XLSX)")
    book = openpyxl.load_workbook(io.BytesIO(Path(found.value.path()).read_bytes()))
    assert book.sheetnames
    page.goto(site.base_url + "/bao-cao?tu=2011&den=2020")
    with page.expect_download() as found:
        page.click("text=Tải về XLSX")
    book = openpyxl.load_workbook(io.BytesIO(Path(found.value.path()).read_bytes()))
    assert "tổng kết" in str(book.worksheets[0]["A1"].value)


def test_the_api_reference_page_shows_every_operation_and_prints(
    site: Site, watched: tuple[Page, Watch], screenshots: Path
) -> None:
    """``/docs``: public, every operation of ``/openapi.json`` with its anchor, a table of
    contents that leads to each, and a print layout without the site's navigation."""
    page, _ = watched
    document = httpx.get(site.base_url + "/openapi.json").json()
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    answer = page.goto(site.base_url + "/docs")
    assert answer is not None and answer.status == 200
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("article.endpoint")).to_have_count(len(operations))
    expect(page.locator("section.tag")).to_have_count(len(document["tags"]))
    page.screenshot(path=str(screenshots / "public-docs.png"))
    page.click("nav.toc a[href='#submit_application']")
    target = page.locator("#submit_application")
    expect(target).to_be_in_viewport()
    expect(target.locator("h3")).to_have_text("POST /api/applications")
    expect(target.locator("table.fields")).not_to_have_count(0)
    page.screenshot(path=str(screenshots / "public-docs-submit-application.png"))
    page.emulate_media(media="print")
    expect(page.locator("header.site nav")).to_be_hidden()
    expect(page.locator("#submit_application")).to_be_visible()
    page.screenshot(path=str(screenshots / "public-docs-print.png"))
    assert page.pdf()[:5] == b"%PDF-"  # it prints
    page.emulate_media(media="screen")
    sign_in(page, site, "inspector", "/docs")
    expect(page.locator("header .user")).to_contain_text("Người dùng inspector")
    expect(page.locator("footer a[href='/docs']")).to_be_visible()
