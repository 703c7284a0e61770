"""The web pages over HTTP (in process), on both databases: the public overview and what it
shows, signing in and out, who may open which page, CSRF on every form that writes or starts
work, the security headers, escaping, and the figures of the pages against the JSON reports."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from starlette.testclient import TestClient

from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM
from ledger.service import Ledger
from tests.support.estimate_story import YEAR, cast, estimate_cycle, history
from tests.support.http import read_side_of
from tests.support.people import People
from tests.support.scenario import D, Scenario

PAGES = (
    "/",
    "/du-an/DA2",
    "/so-nganh",
    "/ho-so",
    "/doanh-nghiep",
    "/du-toan/2015",
    "/bao-cao",
    "/docs",
)
AUDIT_PAGES = ("/kiem-tra",)


def signed_in(client: TestClient, token: str) -> TestClient:
    form = client.get("/dang-nhap")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    answer = client.post(
        "/dang-nhap",
        data={"csrf": csrf.group(1), "token": token, "tiep": "/ho-so"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ho-so"
    return client


def csrf_of(client: TestClient, path: str = "/") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def story(ledger: Ledger, people: People, client: TestClient) -> dict[str, Any]:
    scenario = Scenario(ledger, people)
    scenario.budget(1_234_567_000)
    app_id = scenario.approved(city=60_000_000)
    read_side_of(client).projector.catch_up()
    return {"application": app_id}


def test_the_public_overview_shows_the_budget_in_dong_with_its_headers(
    client: TestClient, ledger: Ledger, story: dict[str, Any]
) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="vi">' in text and "Tổng quan" in text
    assert "1.234.567.000 ₫" in text and "60.000.000 ₫" in text  # assigned, committed
    assert "<svg" in text and "<table" in text  # a chart, and its table
    assert "Tiến độ 8 mục tiêu" in text and "Toàn vẹn sổ cái" in text
    # offline: no script, nothing from elsewhere
    assert "<script" not in text and "http://" not in text and "https://" not in text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert client.get("/static/style.css").status_code == 200
    # the public page links to nothing that needs a sign-in but the sign-in
    assert "/ho-so" not in text and "/kiem-tra" not in text


def test_the_api_reference_is_public_with_the_pages_headers(client: TestClient) -> None:
    page = client.get("/docs")  # nobody signed in
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "Đăng nhập" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert 'id="submit_application"' in page.text


def test_a_page_shows_what_the_read_models_folded_since_it_was_last_shown(
    client: TestClient, ledger: Ledger, people: People, story: dict[str, Any]
) -> None:
    """The pages' figures are kept while their read models stay at one position: a write
    folded since shows on the next request."""
    app_id = story["application"]
    signed_in(client, people.tokens["officer"])
    assert "1.234.567.000 ₫" in client.get("/").text
    assert "Đã giải ngân" in client.get(f"/ho-so/{app_id}").text
    assert "17.000.000 ₫" not in client.get(f"/ho-so/{app_id}").text
    scenario = Scenario(ledger, people)
    scenario.budget(1_000_000)
    ledger.sign_contract(
        c.SignContract(application_id=app_id, contract_no="HĐ-17", signed_on=D(2015, 3, 10)),
        people.officer,
    )
    scenario.pay(app_id, 17_000_000)
    assert "1.234.567.000 ₫" in client.get("/").text  # not folded yet
    read_side_of(client).projector.catch_up()
    assert "1.235.567.000 ₫" in client.get("/").text
    assert "17.000.000 ₫" in client.get(f"/ho-so/{app_id}").text
    lines = client.get(
        "/api/budget-lines", headers={"Authorization": f"Bearer {people.tokens['viewer']}"}
    ).json()
    assert sum(line["assigned"] for line in lines) == 1_235_567_000


def test_signing_in_and_out_with_a_session_cookie(
    client: TestClient, people: People, story: dict[str, Any]
) -> None:
    assert client.get("/ho-so", follow_redirects=False).headers["location"] == (
        "/dang-nhap?tiep=/ho-so"
    )
    csrf = csrf_of(client, "/dang-nhap")
    bad = client.post("/dang-nhap", data={"csrf": csrf, "token": "nope", "tiep": "/"})
    assert bad.status_code == 401 and "Mã truy cập không đúng" in bad.text
    without = client.post("/dang-nhap", data={"token": people.tokens["officer"]})
    assert without.status_code == 403 and "không hợp lệ" in without.text
    form = client.get("/dang-nhap")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post(
        "/dang-nhap",
        data={"csrf": csrf, "token": people.tokens["officer"], "tiep": "//evil.example/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert people.tokens["officer"] not in answer.headers["set-cookie"]
    assert client.get("/ho-so").status_code == 200
    refused = client.post("/dang-xuat", data={"csrf": "wrong"})
    assert refused.status_code == 403
    assert client.get("/ho-so").status_code == 200  # still signed in
    out = client.post("/dang-xuat", data={"csrf": csrf_of(client)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/ho-so", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", catalogue.ROLES)
def test_each_role_opens_the_pages_it_may_and_is_refused_the_others(
    client: TestClient, people: People, story: dict[str, Any], role: str
) -> None:
    signed_in(client, people.tokens[role])
    for path in (*PAGES, f"/ho-so/{story['application']}"):
        page = client.get(path)
        assert page.status_code == 200, (role, path, page.text[:300])
        assert "<script" not in page.text
    for path in AUDIT_PAGES:
        page = client.get(path)
        if role in ("inspector", "finance"):
            assert page.status_code == 200 and "Xác minh toàn bộ sổ cái" in page.text
        else:
            assert page.status_code == 403 and "không được xem trang này" in page.text
    assert ('href="/kiem-tra"' in client.get("/").text) == (role in ("inspector", "finance"))


def test_a_revoked_user_is_signed_out_at_the_next_click(
    client: TestClient, ledger: Ledger, story: dict[str, Any]
) -> None:
    granted = ledger.grant_access(
        c.GrantAccess(name="Người tạm", role="viewer", department="STC"), SYSTEM
    )
    signed_in(client, granted.token)
    assert client.get("/ho-so").status_code == 200
    ledger.revoke_access(c.RevokeAccess(user_id=granted.user_id, reason="Hết hạn"), SYSTEM)
    assert client.get("/ho-so", follow_redirects=False).status_code == 303


def test_an_enterprise_name_with_html_shows_as_text(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    ledger.register_enterprise(
        c.RegisterEnterprise(
            tax_code="0101234567",
            name='<script>alert("x")</script> & Co',
            district="QH-CAUGIAY",
            sector="industry",
            size="small",
        ),
        people.officer,
    )
    read_side_of(client).projector.catch_up()
    signed_in(client, people.tokens["viewer"])
    text = client.get("/doanh-nghiep").text
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in text


def test_the_application_list_filters_and_the_timeline_proves_its_events(
    client: TestClient, ledger: Ledger, people: People, story: dict[str, Any]
) -> None:
    signed_in(client, people.tokens["inspector"])
    listed = client.get("/ho-so?du_an=DA2&trang_thai=approved").text
    assert f"/ho-so/{story['application']}" in listed
    assert f"/ho-so/{story['application']}" not in client.get("/ho-so?du_an=DA1").text
    assert f"/ho-so/{story['application']}" not in client.get("/ho-so?quan=QH-BAVI").text
    detail = client.get(f"/ho-so/{story['application']}").text
    assert "Diễn biến hồ sơ" in detail and "Mã băm lá" in detail
    proof_link = re.search(r'href="(/kiem-tra/chung-minh\?vi_tri=\d+)"', detail)
    assert proof_link is not None
    proof = client.get(proof_link.group(1).replace("&amp;", "&"))
    assert proof.status_code == 200 and "Đường kiểm chứng" in proof.text
    assert client.get("/kiem-tra/chung-minh?vi_tri=abc").status_code == 404
    assert client.get("/ho-so/not-a-uuid").status_code == 404
    # who recorded each event: by name for an inspector (personnel data), by department only
    # for a viewer
    assert people.officer.name in detail
    client.post("/dang-xuat", data={"csrf": csrf_of(client)})
    signed_in(client, people.tokens["viewer"])
    seen = client.get(f"/ho-so/{story['application']}").text
    assert "Diễn biến hồ sơ" in seen and people.officer.name not in seen


def test_inspectors_verify_replay_and_download(
    client: TestClient, ledger: Ledger, people: People, story: dict[str, Any]
) -> None:
    signed_in(client, people.tokens["inspector"])
    refused = client.post("/kiem-tra/xac-minh", data={})
    assert refused.status_code == 403
    verified = client.post("/kiem-tra/xac-minh", data={"csrf": csrf_of(client, "/kiem-tra")})
    assert verified.status_code == 200 and "Sổ cái nguyên vẹn" in verified.text
    replay = client.get("/kiem-tra?as_of=2015-12-31")
    assert replay.status_code == 200 and "tính đến ngày 31/12/2015" in replay.text
    wrong = client.get("/kiem-tra?as_known_at=yesterday")
    assert wrong.status_code == 200 and 'role="alert"' in wrong.text
    trail = client.get("/kiem-tra/nhat-ky.xlsx")
    assert trail.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(trail.content)).sheetnames
    report = client.get("/bao-cao.xlsx?tu=2015&den=2015")
    assert report.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(report.content))
    assert "năm 2015" in str(book.worksheets[0]["A1"].value)


def test_the_pages_say_what_the_json_reports_say(
    client: TestClient, people: People, story: dict[str, Any]
) -> None:
    token = {"Authorization": f"Bearer {people.tokens['viewer']}"}
    spend = client.get("/api/reports/project-spend", headers=token).json()["rows"]
    program = client.get("/api/reports/program?from=2015&to=2015", headers=token).json()
    signed_in(client, people.tokens["viewer"])
    overview = client.get("/").text
    for row in spend:
        assert f"{row['assigned']:,} ₫".replace(",", ".") in overview
    report = client.get("/bao-cao?tu=2015&den=2015").text
    assert program["period"]["title"] in report
    total = program["support"]["total"]
    assert f"{total['applications']} hồ sơ được phê duyệt" in report


def test_the_estimate_page_shows_every_stage_of_the_year(
    ledger: Ledger, client: TestClient
) -> None:
    people = cast(ledger)
    history(ledger, people)
    estimate_cycle(ledger, people)
    read_side_of(client).projector.catch_up()
    token = {"Authorization": f"Bearer {people.tokens['finance']}"}
    record = client.get(f"/api/estimates/{YEAR}", headers=token).json()
    signed_in(client, people.tokens["finance"])
    text = client.get(f"/du-toan/{YEAR}").text
    assert "Đã phê duyệt và giao dự toán" in text
    # the needs, with their departments, and a note written with markup shown as text
    assert "Sở Công thương" in text and "200.000.000 ₫" in text
    assert "Nhu cầu &lt;b&gt;đăng ký&lt;/b&gt;" in text and "<b>đăng ký</b>" not in text
    # both draft versions, newest first, each line with what justifies it
    assert text.index("Bản dự thảo số 2 (mới nhất)") < text.index("Bản dự thảo số 1")
    assert "Hồ sơ đang xử lý (theo tỷ lệ được duyệt)" in text
    for line in record["drafts"][-1]["lines"]:
        assert money_vi(line["amount"]) in text
    # the return, the appraisal's change with its reason, the approval
    assert "Thiếu DA3" in text
    assert "Giảm theo khả năng ngân sách" in text and "-5.000.000 ₫" in text
    assert record["approval"]["decision_no"] in text
    assert money_vi(sum(line["amount"] for line in record["approval"]["lines"])) in text
    # a year without an estimate says so
    assert "Chưa có dự toán năm 2012" in client.get("/du-toan/2012").text


def money_vi(amount: int) -> str:
    return f"{amount:,} ₫".replace(",", ".")
