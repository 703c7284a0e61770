"""Whole lifecycles over HTTP, as the clerks of each department would drive them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from api.routes import ActivityOut, ApplicationOut, BudgetLineOut, EnterpriseOut, HistoryEntryOut
from ledger.service import Ledger
from tests.support.http import Clerk
from tests.support.names import unique
from tests.support.people import People
from tests.support.scenario import tax_code

M = 1_000_000


def clerks(client: TestClient, people: People) -> dict[str, Clerk]:
    return {role: Clerk(client, token) for role, token in people.tokens.items()}


def test_an_application_walks_from_budget_to_settlement_over_http(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    who = clerks(client, people)
    officer, appraiser, approver, finance = (
        who["officer"],
        who["appraiser"],
        who["approver"],
        who["finance"],
    )
    positions: list[int] = []

    def step(answer: dict[str, Any]) -> str:
        assert set(answer) == {"id", "position"}
        positions.append(answer["position"])
        assert answer["position"] == ledger.position()
        return str(answer["id"])

    # Finance assigns the 2015 city-budget line of DA2.
    line_id = step(
        finance.post(
            "/api/budget-lines",
            {
                "budget_year": 2015,
                "project": "DA2",
                "source": "city_budget",
                "amount": 1_000 * M,
                "decision_no": "QĐ-123/STC",
                "decided_on": "2015-01-05",
            },
            201,
        )
    )
    # The officer registers the enterprise and submits its application.
    code = tax_code()
    enterprise_id = step(
        officer.post(
            "/api/enterprises",
            {
                "tax_code": code,
                "name": "Công ty TNHH Minh Phát",
                "district": "QH-CAUGIAY",
                "sector": "industry",
                "size": "small",
            },
            201,
        )
    )
    dossier = unique("HS")
    app_id = step(
        officer.post(
            "/api/applications",
            {
                "enterprise_id": enterprise_id,
                "dossier_no": dossier,
                "project": "DA2",
                "support_type": "iso_9001",
                "title": "Xây dựng và áp dụng ISO 9001:2015",
                "total_cost": 100 * M,
                "requested": {"city_budget": 60 * M, "enterprise": 40 * M, "other": 0},
                "submitted_on": "2015-02-01",
            },
            201,
        )
    )
    base = f"/api/applications/{app_id}"
    # A second officer appraises, a third (SKHCN) approves.
    assert (
        step(
            appraiser.post(
                f"{base}/appraisal",
                {
                    "appraised_on": "2015-02-15",
                    "note": "Đủ điều kiện",
                    "recommended": {"city_budget": 60 * M, "enterprise": 40 * M, "other": 0},
                },
            )
        )
        == app_id
    )
    assert (
        step(
            approver.post(
                f"{base}/approval",
                {
                    "decision_no": "QĐ-456/SKHCN",
                    "decided_on": "2015-03-01",
                    "budget_year": 2015,
                    "approved": {"city_budget": 60 * M, "enterprise": 40 * M, "other": 0},
                },
            )
        )
        == app_id
    )
    # Contract, an advance, the acceptance with its output, the final payment, settlement.
    step(officer.post(f"{base}/contract", {"contract_no": unique("HĐ"), "signed_on": "2015-03-10"}))
    advance_id = step(
        officer.post(
            f"{base}/disbursements",
            {
                "paid_on": "2015-04-01",
                "amount": 20 * M,
                "voucher_no": unique("PC"),
                "kind": "advance",
            },
            201,
        )
    )
    step(
        officer.post(
            f"{base}/acceptance",
            {"accepted_on": "2015-09-01", "result": "passed", "outputs": {"management_systems": 1}},
        )
    )
    payment_id = step(
        officer.post(
            f"{base}/disbursements",
            {
                "paid_on": "2015-09-15",
                "amount": 40 * M,
                "voucher_no": unique("PC"),
                "kind": "payment",
            },
            201,
        )
    )
    step(officer.post(f"{base}/settlement", {"settled_on": "2015-10-01", "note": "Quyết toán"}))
    assert positions == sorted(positions) and len(set(positions)) == len(positions)

    # The application as it stands now.
    state = ApplicationOut.model_validate(officer.get(base))
    assert state.status == "settled"
    assert state.dossier_no == dossier and str(state.enterprise_id) == enterprise_id
    assert (state.project, state.support_type, state.budget_year) == ("DA2", "iso_9001", 2015)
    assert state.requested.model_dump() == {"city_budget": 60 * M, "enterprise": 40 * M, "other": 0}
    assert state.approved is not None
    assert state.approved.model_dump() == state.requested.model_dump()
    assert (state.disbursed, state.recovered, state.acceptance_result) == (60 * M, 0, "passed")
    assert state.outputs == {"management_systems": 1}
    assert [(str(d.id), d.kind, d.amount) for d in state.disbursements] == [
        (advance_id, "advance", 20 * M),
        (payment_id, "payment", 40 * M),
    ]

    # Its history: every event, oldest first, with who, when and what, its leaf hash and
    # what it changed.
    history = officer.get(f"{base}/history")
    for entry in history:
        assert set(entry) == {
            "position",
            "recorded_at",
            "effective_date",
            "type",
            "actor",
            "actor_name",
            "department",
            "department_name",
            "data",
            "leaf_hash",
            "changes",
        }
        HistoryEntryOut.model_validate(entry)
        assert entry["actor_name"] is None  # an officer may not read personnel data
        assert entry["department_name"] == "Sở Khoa học và Công nghệ"
    assert [e["type"] for e in history] == [
        "Submitted",
        "Appraised",
        "Approved",
        "ContractSigned",
        "Disbursed",
        "AcceptanceRecorded",
        "Disbursed",
        "Settled",
    ]
    assert [e["position"] for e in history] == sorted(e["position"] for e in history)
    assert len({e["position"] for e in history}) == len(history)
    assert history[-1]["position"] == positions[-1]
    assert [e["actor"] for e in history[:3]] == [
        people.officer.user_id,
        people.appraiser.user_id,
        people.approver.user_id,
    ]
    assert {e["department"] for e in history} == {"SKHCN"}
    assert [e["effective_date"] for e in history] == [
        "2015-02-01",
        "2015-02-15",
        "2015-03-01",
        "2015-03-10",
        "2015-04-01",
        "2015-09-01",
        "2015-09-15",
        "2015-10-01",
    ]
    recorded = [dt.datetime.fromisoformat(e["recorded_at"]) for e in history]
    assert recorded == sorted(recorded) and all(t.utcoffset() == dt.timedelta(0) for t in recorded)
    assert history[2]["data"]["approved"] == {
        "city_budget": 60 * M,
        "enterprise": 40 * M,
        "other": 0,
    }
    assert history[2]["data"]["budget_year"] == 2015

    # The budget line: the whole approval committed (settled with nothing unused), all paid.
    [line] = finance.get("/api/budget-lines?budget_year=2015&project=DA2&source=city_budget")
    assert BudgetLineOut.model_validate(line).model_dump(mode="json") == {
        "id": line_id,
        "budget_year": 2015,
        "project": "DA2",
        "source": "city_budget",
        "channel": "science_recurrent",
        "assigned": 1_000 * M,
        "carried_in": 0,
        "committed": 60 * M,
        "disbursed": 60 * M,
        "recovered": 0,
        "carried_out": 0,
        "cancelled": 0,
        "available": 940 * M,
    }
    assert finance.get("/api/budget-lines?budget_year=2016") == []
    enterprise = EnterpriseOut.model_validate(
        who["viewer"].get(f"/api/enterprises/{enterprise_id}")
    )
    assert (enterprise.tax_code, enterprise.name) == (code, "Công ty TNHH Minh Phát")


def test_every_other_lifecycle_step_works_over_http(
    client: TestClient, ledger: Ledger, people: People
) -> None:
    who = clerks(client, people)
    officer, approver, finance, admin = (
        who["officer"],
        who["approver"],
        who["finance"],
        who["admin"],
    )
    finance.post(
        "/api/budget-lines",
        {
            "budget_year": 2016,
            "project": "DA4",
            "source": "city_budget",
            "amount": 500 * M,
            "decision_no": "QĐ-1/STC",
            "decided_on": "2016-01-04",
        },
        201,
    )
    # A second assignment to the same line adjusts it.
    again = finance.post(
        "/api/budget-lines",
        {
            "budget_year": 2016,
            "project": "DA4",
            "source": "city_budget",
            "amount": 100 * M,
            "decision_no": "QĐ-2/STC",
            "decided_on": "2016-06-01",
        },
        201,
    )
    enterprise_id = officer.post(
        "/api/enterprises",
        {
            "tax_code": tax_code() + "-001",
            "name": "Chi nhánh Hợp tác xã Bát Tràng",
            "district": "QH-GIALAM",
            "sector": "craft_village",
            "size": "micro",
        },
        201,
    )["id"]

    # The enterprise's record is corrected, not edited.
    officer.post(
        f"/api/enterprises/{enterprise_id}/correction",
        {"corrected_on": "2016-01-10", "reason": "Sai tên", "name": "HTX Gốm Bát Tràng"},
    )
    assert officer.get(f"/api/enterprises/{enterprise_id}")["name"] == "HTX Gốm Bát Tràng"

    def submit(dossier: str) -> str:
        return str(
            officer.post(
                "/api/applications",
                {
                    "enterprise_id": enterprise_id,
                    "dossier_no": dossier,
                    "project": "DA4",
                    "support_type": "collective_mark",
                    "title": "Nhãn hiệu tập thể gốm Bát Tràng",
                    "total_cost": 50 * M,
                    "requested": {"city_budget": 30 * M, "enterprise": 20 * M, "other": 0},
                    "submitted_on": "2016-02-01",
                },
                201,
            )["id"]
        )

    # Returned for completion, resubmitted, then withdrawn by the enterprise.
    first = f"/api/applications/{submit(unique('HS'))}"
    officer.post(f"{first}/return", {"returned_on": "2016-02-05", "reason": "Thiếu hồ sơ"})
    assert officer.get(first)["status"] == "returned"
    officer.post(f"{first}/resubmission", {"resubmitted_on": "2016-02-10"})
    assert officer.get(first)["status"] == "submitted"
    officer.post(f"{first}/withdrawal", {"withdrawn_on": "2016-02-20", "reason": "Rút hồ sơ"})
    assert officer.get(first)["status"] == "withdrawn"
    # Rejected.
    second = f"/api/applications/{submit(unique('HS'))}"
    officer.post(f"{second}/rejection", {"decided_on": "2016-02-20", "reason": "Không đạt"})
    assert officer.get(second)["status"] == "rejected"

    # Approved, paid, a payment reversed, money recovered, then cancelled.
    third = f"/api/applications/{submit(unique('HS'))}"
    split = {"city_budget": 30 * M, "enterprise": 20 * M, "other": 0}
    who["appraiser"].post(
        f"{third}/appraisal", {"appraised_on": "2016-02-15", "recommended": split}
    )
    approver.post(
        f"{third}/approval",
        {"decision_no": "QĐ-9", "decided_on": "2016-03-01", "budget_year": 2016, "approved": split},
    )
    officer.post(f"{third}/contract", {"contract_no": unique("HĐ"), "signed_on": "2016-03-05"})
    wrong = officer.post(
        f"{third}/disbursements",
        {"paid_on": "2016-04-01", "amount": 25 * M, "voucher_no": unique("PC"), "kind": "advance"},
        201,
    )["id"]
    reversal = officer.post(
        f"{third}/disbursements/{wrong}/reversal",
        {"reversed_on": "2016-04-02", "reason": "Nhầm số tiền"},
    )
    assert reversal["id"] == wrong
    officer.post(
        f"{third}/disbursements",
        {"paid_on": "2016-04-03", "amount": 10 * M, "voucher_no": unique("PC"), "kind": "advance"},
        201,
    )
    order = {"ordered_on": "2016-05-01", "amount": 4 * M, "reason": "Sai mục đích"}
    recovery = finance.post(f"{third}/recoveries", order, 201)["id"]
    receipt = finance.post(
        f"{third}/recoveries/{recovery}/receipt",
        {"received_on": "2016-05-20", "voucher_no": unique("PT")},
    )
    assert receipt["id"] == recovery
    officer.post(f"{third}/cancellation", {"cancelled_on": "2016-06-01", "reason": "Dừng dự án"})
    state = ApplicationOut.model_validate(officer.get(third))
    assert (state.status, state.disbursed, state.recovery_ordered, state.recovered) == (
        "cancelled",
        10 * M,
        4 * M,
        4 * M,
    )
    assert [d.reversed for d in state.disbursements] == [True, False]
    assert [(str(r.id), r.received) for r in state.recoveries] == [(recovery, True)]

    # A department-run activity: approved, spent against, completed.
    activity = officer.post(
        "/api/activities",
        {
            "department": "SKHCN",
            "project": "DA4",
            "kind": "training",
            "title": "Tập huấn sở hữu trí tuệ",
            "budget_year": 2016,
            "budget": 40 * M,
            "decision_no": "QĐ-77",
            "approved_on": "2016-03-01",
        },
        201,
    )["id"]
    spending = officer.post(
        f"/api/activities/{activity}/spending",
        {"spent_on": "2016-04-01", "amount": 15 * M, "voucher_no": unique("PC")},
        201,
    )
    assert spending["id"] != activity
    officer.post(
        f"/api/activities/{activity}/completion",
        {"completed_on": "2016-05-01", "report": "Đã tổ chức 2 lớp"},
    )
    done = ActivityOut.model_validate(who["inspector"].get(f"/api/activities/{activity}"))
    assert (done.status, done.budget, done.spent) == ("completed", 40 * M, 15 * M)

    # The line: 600 assigned; the cancelled application keeps 10 − 4 = 6 committed, the
    # completed activity its 15 spent; 10 + 15 paid out, 4 back.
    [line] = finance.get("/api/budget-lines?budget_year=2016&project=DA4")
    assert line["id"] == again["id"]
    assert (line["assigned"], line["committed"], line["disbursed"], line["recovered"]) == (
        600 * M,
        21 * M,
        25 * M,
        4 * M,
    )
    assert line["available"] == 579 * M

    # An admin grants access, the new token works, then is revoked and stops working.
    granted = admin.post(
        "/api/users", {"name": "Ngô Thị Lan", "role": "viewer", "department": "SCT"}, 201
    )
    assert set(granted) == {"id", "token", "position"} and granted["token"]
    newcomer = {"Authorization": f"Bearer {granted['token']}"}
    assert client.get("/api/budget-lines", headers=newcomer).status_code == 200
    users = {u["id"]: u for u in admin.get("/api/users")}
    assert users[granted["id"]] == {
        "id": granted["id"],
        "name": "Ngô Thị Lan",
        "role": "viewer",
        "department": "SCT",
        "active": True,
    }
    assert people.officer.user_id in users
    admin.post(f"/api/users/{granted['id']}/revocation", {"reason": "Chuyển công tác"})
    assert client.get("/api/budget-lines", headers=newcomer).status_code == 401
    assert {u["id"]: u["active"] for u in admin.get("/api/users")}[granted["id"]] is False
