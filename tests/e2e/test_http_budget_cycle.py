"""The budget cycle over HTTP, role by role: support rules, channels, reductions, year close
with carry-over, reopening; every refusal names its rule and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from ledger.checks import check_invariants
from ledger.service import Ledger
from tests.support.http import Clerk
from tests.support.people import People
from tests.support.scenario import tax_code

M = 1_000_000


@pytest.fixture
def desks(client: TestClient, people: People) -> dict[str, Clerk]:
    return {role: Clerk(client, token) for role, token in people.tokens.items()}


def _line(
    desk: Clerk, year: int, amount: int, channel: str | None = None, status: int = 201
) -> Any:
    body: dict[str, Any] = {
        "budget_year": year,
        "project": "DA2",
        "source": "city_budget",
        "amount": amount,
        "decision_no": f"QĐ-{year}-{amount}",
        "decided_on": f"{year}-01-05",
    }
    if channel is not None:
        body["channel"] = channel
    return desk.post("/api/budget-lines", body, status)


def _approved(
    desks: dict[str, Clerk],
    year: int,
    city: int,
    total: int,
    *,
    channel: str | None = None,
    decided_on: str | None = None,
    status: int = 200,
) -> tuple[str, dict[str, Any]]:
    officer, appraiser, approver = desks["officer"], desks["appraiser"], desks["approver"]
    enterprise = officer.post(
        "/api/enterprises",
        {
            "tax_code": tax_code(),
            "name": "Công ty Cổ phần Sao Mai",
            "district": "QH-HOANGMAI",
            "sector": "industry",
            "size": "small",
        },
        201,
    )["id"]
    split = {"city_budget": city, "enterprise": total - city, "other": 0}
    app = officer.post(
        "/api/applications",
        {
            "enterprise_id": enterprise,
            "dossier_no": f"HS-{tax_code()}",
            "project": "DA2",
            "support_type": "iso_9001",
            "title": "Áp dụng ISO 9001:2015",
            "total_cost": total,
            "requested": split,
            "submitted_on": f"{year}-02-01",
        },
        201,
    )["id"]
    appraiser.post(
        f"/api/applications/{app}/appraisal",
        {"appraised_on": f"{year}-02-15", "recommended": split, "note": None},
    )
    body: dict[str, Any] = {
        "decision_no": f"QĐ-HS-{app[:8]}",
        "decided_on": decided_on or f"{year}-03-01",
        "budget_year": year,
        "approved": split,
    }
    if channel is not None:
        body["channel"] = channel
    answer = approver.post(f"/api/applications/{app}/approval", body, status)
    if status == 200:
        officer.post(
            f"/api/applications/{app}/contract",
            {"contract_no": f"HĐ-{app[:8]}", "signed_on": body["decided_on"]},
        )
    return app, answer


def _rule(desk: Clerk, share: int, amount: int, effective_from: str, status: int = 201) -> Any:
    return desk.post(
        "/api/support-rules",
        {
            "support_type": "iso_9001",
            "max_share_percent": share,
            "max_amount": amount,
            "legal_basis": {"document_no": f"QĐ-STC-{effective_from}", "signed_on": "2014-12-20"},
            "effective_from": effective_from,
        },
        status,
    )


def test_support_rules_cap_approvals_by_the_rule_in_force_on_the_decision_date(
    desks: dict[str, Clerk], ledger: Ledger
) -> None:
    finance = desks["finance"]
    _line(finance, 2015, 900 * M)
    for role in ("officer", "leader", "viewer", "admin"):
        assert _rule(desks[role], 50, 80 * M, "2015-01-01", 403)["code"] == "forbidden"
    first = _rule(finance, 50, 80 * M, "2015-01-01")
    assert set(first) == {"id", "position"}
    _rule(finance, 30, 60 * M, "2015-07-01")
    assert _rule(finance, 40, 60 * M, "2015-07-01", 409)["code"] == "duplicate"
    rules = finance.get("/api/support-rules?support_type=iso_9001")
    assert [r["effective_from"] for r in rules] == ["2015-07-01", "2015-01-01"]
    [in_force] = finance.get("/api/support-rules?on=2015-03-01")
    assert in_force["id"] == first["id"] and in_force["legal_basis"]["signed_on"] == "2014-12-20"
    assert finance.get("/api/support-rules?on=2014-12-31") == []

    # before the change: 50 % of 150M = 75M ≤ 80M → 75M passes, 76M does not
    _approved(desks, 2015, 75 * M, 150 * M, decided_on="2015-06-30")
    app, refused = _approved(desks, 2015, 76 * M, 150 * M, decided_on="2015-06-30", status=409)
    assert refused["code"] == "rule_violation"
    assert "QĐ-STC-2015-01-01" in refused["detail"] and "75.000.000 ₫" in refused["detail"]
    assert finance.get(f"/api/applications/{app}")["status"] == "appraised"  # nothing written
    [line] = finance.get("/api/budget-lines?budget_year=2015")
    assert line["committed"] == 75 * M
    # after: 30 % of 150M = 45M
    _, refused = _approved(desks, 2015, 46 * M, 150 * M, decided_on="2015-07-01", status=409)
    assert refused["code"] == "rule_violation" and "QĐ-STC-2015-07-01" in refused["detail"]
    _approved(desks, 2015, 45 * M, 150 * M, decided_on="2015-07-01")


def test_channels_reductions_and_their_refusals(desks: dict[str, Clerk]) -> None:
    finance = desks["finance"]
    for role in ("officer", "leader", "inspector"):
        assert _line(desks[role], 2016, 100 * M, status=403)["code"] == "forbidden"
    enterprise_line = {
        "budget_year": 2016,
        "project": "DA2",
        "source": "enterprise",
        "amount": 100 * M,
        "decision_no": "QĐ-1",
        "decided_on": "2016-01-05",
    }
    refused = finance.post("/api/budget-lines", enterprise_line, 422)
    assert refused["errors"][0]["loc"][-1] == "source"
    assert "counterpart" in refused["errors"][0]["msg"]
    _line(finance, 2016, 500 * M)
    _line(finance, 2016, 300 * M, channel="science_fund")
    lines = finance.get("/api/budget-lines?budget_year=2016")
    assert [(x["channel"], x["assigned"]) for x in lines] == [
        ("science_fund", 300 * M),
        ("science_recurrent", 500 * M),
    ]
    assert finance.get("/api/budget-lines?channel=science_fund")[0]["assigned"] == 300 * M

    app, _ = _approved(desks, 2016, 250 * M, 400 * M, channel="science_fund")
    refused = desks["officer"].post(
        f"/api/applications/{app}/disbursements",
        {
            "paid_on": "2016-05-01",
            "amount": 10 * M,
            "voucher_no": "UNC-1",
            "kind": "advance",
            "channel": "investment",
        },
        409,
    )
    assert refused["code"] == "invalid_transition" and "science_fund" in refused["detail"]
    desks["officer"].post(
        f"/api/applications/{app}/disbursements",
        {"paid_on": "2016-05-01", "amount": 10 * M, "voucher_no": "UNC-1", "kind": "advance"},
        201,
    )
    reduction = {
        "budget_year": 2016,
        "project": "DA2",
        "source": "city_budget",
        "channel": "science_fund",
        "amount": 51 * M,
        "decision_no": "QĐ-giảm-1",
        "decided_on": "2016-06-01",
        "reason": "Điều chỉnh giảm theo Quyết định của UBND",
    }
    assert (
        desks["officer"].post("/api/budget-lines/reduction", reduction, 403)["code"] == "forbidden"
    )
    refused = finance.post("/api/budget-lines/reduction", reduction, 409)
    assert refused["code"] == "insufficient_budget" and "50.000.000 ₫" in refused["detail"]
    finance.post("/api/budget-lines/reduction", {**reduction, "amount": 50 * M})
    [fund] = finance.get("/api/budget-lines?channel=science_fund")
    assert (fund["assigned"], fund["committed"], fund["available"]) == (250 * M, 250 * M, 0)


def test_an_approval_is_decided_in_its_budget_year(desks: dict[str, Clerk]) -> None:
    _line(desks["finance"], 2016, 500 * M)
    _, refused = _approved(desks, 2016, 50 * M, 100 * M, decided_on="2015-12-30", status=422)
    assert refused["code"] == "validation_error"
    assert refused["errors"][0]["loc"] == ["body", "decided_on"]


def test_a_year_close_carries_unpaid_commitments_over_and_closes_the_year(
    desks: dict[str, Clerk], ledger: Ledger
) -> None:
    finance, officer = desks["finance"], desks["officer"]
    _line(finance, 2016, 500 * M)
    paid_app, _ = _approved(desks, 2016, 100 * M, 200 * M)
    officer.post(
        f"/api/applications/{paid_app}/disbursements",
        {"paid_on": "2016-06-01", "amount": 30 * M, "voucher_no": "UNC-A", "kind": "advance"},
        201,
    )
    close = {"closed_on": "2017-01-20"}
    for role in ("officer", "leader", "admin"):
        assert desks[role].post("/api/budget-years/2016/close", close, 403)["code"] == "forbidden"
    outside = finance.post("/api/budget-years/1999/close", close, 422)
    assert outside["errors"][0]["loc"] == ["path", "budget_year"]
    early = finance.post("/api/budget-years/2016/close", {"closed_on": "2016-12-31"}, 409)
    assert early["code"] == "invalid_transition"
    closed = finance.post("/api/budget-years/2016/close", close)
    assert (closed["carried_out"], closed["cancelled"]) == (70 * M, 400 * M)
    assert finance.post("/api/budget-years/2016/close", close, 409)["code"] == "invalid_transition"
    years = {y["budget_year"]: y for y in finance.get("/api/budget-years")}
    assert years[2016]["status"] == "closed" and years[2016]["closed_on"] == "2017-01-20"
    assert years[2017]["status"] == "open" and years[2017]["carried_in"] == 70 * M

    # nothing dated in 2016 any more, of any kind
    head = ledger.position()
    refused = officer.post(
        f"/api/applications/{paid_app}/disbursements",
        {"paid_on": "2016-12-30", "amount": 5 * M, "voucher_no": "UNC-B", "kind": "payment"},
        409,
    )
    assert refused["code"] == "period_closed" and "2016" in refused["detail"]
    assert _line(finance, 2016, 10 * M, status=409)["code"] == "period_closed"
    assert ledger.position() == head
    # paid in 2017 from the 2017 line, where the commitment went
    officer.post(
        f"/api/applications/{paid_app}/disbursements",
        {"paid_on": "2017-02-01", "amount": 70 * M, "voucher_no": "UNC-C", "kind": "payment"},
        201,
    )
    assert officer.get(f"/api/applications/{paid_app}")["drawing_year"] == 2017
    by_year = {x["budget_year"]: x for x in finance.get("/api/budget-lines")}
    assert (by_year[2016]["committed"], by_year[2016]["disbursed"]) == (100 * M, 30 * M)
    assert (by_year[2017]["carried_in"], by_year[2017]["disbursed"]) == (70 * M, 70 * M)

    # reopened with a reason; a late increase and a late approval; closed again: only what
    # changed since the first close moves
    for role in ("officer", "leader"):
        assert desks[role].post("/api/budget-years/2016/reopen", {"reason": "x"}, 403)
    assert finance.post("/api/budget-years/2016/reopen", {}, 422)["code"] == "validation_error"
    finance.post("/api/budget-years/2016/reopen", {"reason": "Bổ sung quyết định năm 2016"})
    assert finance.post("/api/budget-years/2016/reopen", {"reason": "x"}, 409)
    assert finance.get("/api/budget-years")[0]["status"] == "open"
    finance.post(
        "/api/budget-lines",
        {
            "budget_year": 2016,
            "project": "DA2",
            "source": "city_budget",
            "amount": 30 * M,
            "decision_no": "QĐ-bổ-sung",
            "decided_on": "2016-12-28",
        },
        201,
    )
    _approved(desks, 2016, 20 * M, 40 * M, decided_on="2016-12-29")
    again = finance.post("/api/budget-years/2016/close", {"closed_on": "2017-02-10"})
    assert (again["carried_out"], again["cancelled"]) == (20 * M, 10 * M)
    years = {y["budget_year"]: y for y in finance.get("/api/budget-years")}
    assert (years[2016]["carried_out"], years[2016]["cancelled"]) == (90 * M, 410 * M)
    assert (years[2016]["committed"], years[2016]["available"]) == (120 * M, 0)
    assert years[2017]["carried_in"] == 90 * M


def test_money_recovered_after_the_close_goes_back_to_the_budget(desks: dict[str, Clerk]) -> None:
    finance, officer = desks["finance"], desks["officer"]
    _line(finance, 2016, 300 * M)
    app, _ = _approved(desks, 2016, 100 * M, 200 * M)
    pay = {"paid_on": "2016-06-01", "amount": 100 * M, "voucher_no": "UNC-R1", "kind": "payment"}
    officer.post(f"/api/applications/{app}/disbursements", pay, 201)
    officer.post(
        f"/api/applications/{app}/acceptance",
        {"accepted_on": "2016-09-01", "result": "passed", "outputs": {"management_systems": 1}},
    )
    officer.post(f"/api/applications/{app}/settlement", {"settled_on": "2016-10-01"})
    closed = finance.post("/api/budget-years/2016/close", {"closed_on": "2017-01-20"})
    assert (closed["carried_out"], closed["cancelled"]) == (0, 200 * M)
    assert officer.get(f"/api/applications/{app}")["drawing_year"] == 2016  # nothing carried
    order = finance.post(
        f"/api/applications/{app}/recoveries",
        {"ordered_on": "2017-04-01", "amount": 15 * M, "reason": "Thanh tra: chi sai định mức"},
        201,
    )
    finance.post(
        f"/api/applications/{app}/recoveries/{order['id']}/receipt",
        {"received_on": "2017-05-01", "voucher_no": "GNT-2017-1"},
    )
    [line] = finance.get("/api/budget-lines?budget_year=2016")
    assert (line["recovered"], line["committed"], line["cancelled"]) == (15 * M, 85 * M, 215 * M)
    assert line["available"] == 0  # back to the budget, not to be spent again
    assert line["assigned"] + line["carried_in"] == line["committed"] + line["cancelled"]
    assert line["committed"] == line["disbursed"] - line["recovered"] + line["carried_out"]


def test_a_payment_of_before_the_close_reversed_after_it_goes_back_to_its_line(
    desks: dict[str, Clerk], ledger: Ledger
) -> None:
    finance, officer = desks["finance"], desks["officer"]
    _line(finance, 2016, 300 * M)
    app, _ = _approved(desks, 2016, 100 * M, 200 * M)
    advance = officer.post(
        f"/api/applications/{app}/disbursements",
        {"paid_on": "2016-06-01", "amount": 30 * M, "voucher_no": "UNC-V1", "kind": "advance"},
        201,
    )
    closed = finance.post("/api/budget-years/2016/close", {"closed_on": "2017-01-20"})
    assert closed["carried_out"] == 70 * M
    officer.post(
        f"/api/applications/{app}/disbursements/{advance['id']}/reversal",
        {"reversed_on": "2017-02-01", "reason": "Sai tài khoản thụ hưởng"},
    )
    lines = {x["budget_year"]: x for x in finance.get("/api/budget-lines")}
    old, new = lines[2016], lines[2017]
    # the 2016 line paid it and takes it back; the money still owed follows the application
    assert (old["disbursed"], old["carried_out"], old["committed"]) == (0, 100 * M, 100 * M)
    assert old["committed"] == old["disbursed"] - old["recovered"] + old["carried_out"]
    assert (old["available"], new["carried_in"], new["committed"]) == (0, 100 * M, 100 * M)
    officer.post(
        f"/api/applications/{app}/disbursements",
        {"paid_on": "2017-02-05", "amount": 100 * M, "voucher_no": "UNC-V2", "kind": "payment"},
        201,
    )
    assert finance.get("/api/budget-lines?budget_year=2017")[0]["disbursed"] == 100 * M
    assert officer.get(f"/api/applications/{app}")["drawing_year"] == 2017
    assert check_invariants(ledger) == []  # the application against every line it drew on
