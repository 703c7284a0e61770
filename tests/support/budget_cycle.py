"""A closed budget year as the read-side tests build it (``Year2015``), and what every read path
says of its money (``every_read_path``, ``assert_every_read_path_agrees``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger import catalogue
from ledger import commands as c
from ledger.base import Meta
from ledger.budget_line import BudgetLine
from ledger.service import Ledger
from projections import budget_execution, journal, project_spend, registers
from projections.projector import Projector
from tests.support.people import People
from tests.support.scenario import D, funding, tax_code

M = 1_000_000
FUND = "science_fund"
DEFAULT = catalogue.DEFAULT_CHANNEL
CITY = catalogue.CITY_BUDGET
FIGURES = (*project_spend.CITY_FIGURES, "available")


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Year2015:
    """Builds the story through the service, as users would."""

    ledger: Ledger
    people: People
    project: str = "DA2"

    def assign(self, year: int, amount: int, channel: str = DEFAULT, on: Any = None) -> None:
        self.ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project=self.project,
                source=CITY,
                channel=channel,
                amount=amount,
                decision_no=ref("QĐ"),
                decided_on=on or D(year, 1, 5),
            ),
            self.people.finance,
        )

    def application(
        self, city: int, enterprise: int = 0, other: int = 0, channel: str = DEFAULT
    ) -> UUID:
        enterprise_id = self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=tax_code(),
                name="Công ty TNHH Minh Phát",
                district="QH-CAUGIAY",
                sector="industry",
                size="small",
            ),
            self.people.officer,
        ).id
        share = funding(city, enterprise, other)
        app_id = self.ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=enterprise_id,
                dossier_no=ref("HS"),
                project=self.project,
                support_type="iso_9001",
                title="Xây dựng và áp dụng ISO 9001:2015",
                total_cost=share.total,
                requested=share,
                submitted_on=D(2015, 2, 1),
            ),
            self.people.officer,
        ).id
        self.ledger.appraise_application(
            c.AppraiseApplication(
                application_id=app_id, appraised_on=D(2015, 2, 15), recommended=share, note="Đạt"
            ),
            self.people.appraiser,
        )
        self.ledger.approve_application(
            c.ApproveApplication(
                application_id=app_id,
                decision_no=ref("QĐ"),
                decided_on=D(2015, 3, 1),
                budget_year=2015,
                approved=share,
                channel=channel,
            ),
            self.people.approver,
        )
        return app_id

    def contract(self, app_id: UUID) -> None:
        self.ledger.sign_contract(
            c.SignContract(application_id=app_id, contract_no=ref("HĐ"), signed_on=D(2015, 3, 10)),
            self.people.officer,
        )

    def pay(self, app_id: UUID, amount: int, on: Any) -> None:
        self.ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app_id,
                paid_on=on,
                amount=amount,
                voucher_no=ref("PC"),
                kind="payment",
            ),
            self.people.officer,
        )

    def build(self) -> dict[str, UUID]:
        # Step 1: the lines of 2015 on two channels, one reduced; next year's line assigned.
        self.assign(2015, 300 * M)
        self.assign(2015, 100 * M, FUND)
        self.ledger.reduce_budget(
            c.ReduceBudget(
                budget_year=2015,
                project=self.project,
                source=CITY,
                amount=20 * M,
                decision_no=ref("QĐ"),
                decided_on=D(2015, 6, 1),
                reason="Điều chỉnh giảm theo tiến độ",
            ),
            self.people.finance,
        )
        self.assign(2016, 100 * M, on=D(2015, 12, 20))
        # Step 2: a line of the enterprise source, as an old log holds one.
        old = BudgetLine.assign(
            2015,
            self.project,
            "enterprise",
            DEFAULT,
            50 * M,
            Meta(self.people.finance, uuid.uuid4(), D(2015, 1, 5), {"decision_no": "QĐ-CŨ"}),
        )
        self.ledger.save(old)
        # Step 3: A half paid and accepted with its counterpart spending; B on the fund,
        # partly paid; C cancelled; an activity partly spent.
        a = self.application(60 * M, enterprise=40 * M)
        self.contract(a)
        self.pay(a, 20 * M, D(2015, 4, 1))
        self.ledger.record_acceptance(
            c.RecordAcceptance(
                application_id=a,
                accepted_on=D(2015, 9, 1),
                result="passed",
                outputs={"management_systems": 1},
                counterpart_spent=c.CounterpartSpent(enterprise=35 * M, other=0),
            ),
            self.people.officer,
        )
        b = self.application(30 * M, enterprise=20 * M, other=10 * M, channel=FUND)
        self.contract(b)
        self.pay(b, 10 * M, D(2015, 5, 1))
        cancelled = self.application(10 * M, enterprise=5 * M)
        self.ledger.cancel_application(
            c.CancelApplication(
                application_id=cancelled, cancelled_on=D(2015, 5, 2), reason="Doanh nghiệp rút"
            ),
            self.people.officer,
        )
        activity = self.ledger.approve_activity(
            c.ApproveActivity(
                department="SKHCN",
                project=self.project,
                kind="training",
                title="Tập huấn năng suất chất lượng",
                budget_year=2015,
                budget=15 * M,
                decision_no=ref("QĐ"),
                approved_on=D(2015, 1, 20),
            ),
            self.people.officer,
        ).id
        self.ledger.record_activity_spending(
            c.RecordActivitySpending(
                activity_id=activity, spent_on=D(2015, 5, 1), amount=5 * M, voucher_no=ref("PC")
            ),
            self.people.officer,
        )
        # Step 4: 2015 is closed in January 2016: the unpaid commitments go to 2016.
        self.ledger.close_budget_year(
            c.CloseBudgetYear(budget_year=2015, closed_on=D(2016, 1, 15)), self.people.finance
        )
        # Step 5: A and B are paid from 2016's lines; A is settled.
        self.pay(a, 40 * M, D(2016, 2, 1))
        self.ledger.settle_application(
            c.SettleApplication(application_id=a, settled_on=D(2016, 3, 1)), self.people.officer
        )
        self.pay(b, 20 * M, D(2016, 2, 2))
        return {"a": a, "b": b, "cancelled": cancelled, "activity": activity}


def city_key(row: dict[str, Any]) -> tuple[int, str, str]:
    return (row["budget_year"], row["project"], row["channel"])


def every_read_path(ledger: Ledger) -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    """The city-budget figures by (year, project, channel) as every read path says them, and
    the counterpart figures by (year, project, source) as project_spend and the journal say
    them."""
    projector = Projector(ledger)
    projector.catch_up()
    said: dict[str, dict[tuple[Any, ...], dict[str, int]]] = {}
    said["GET /api/budget-lines"] = {
        city_key(r): {f: r[f] for f in FIGURES} for r in ledger.get_budget_lines()
    }
    with projector.reading("project_spend") as (connection, tables, _):
        said["project_spend"] = {
            city_key(r): {f: r[f] for f in FIGURES}
            for r in project_spend.report(connection, tables)
        }
        said["project_spend counterpart"] = {
            (r["budget_year"], r["project"], r["source"]): {
                "pledged": r["pledged"],
                "spent": r["spent"],
            }
            for r in project_spend.counterpart(connection, tables)
        }
    with projector.reading("registers") as (connection, tables, _):
        said["registers"] = {
            city_key(r): {f: r[f] for f in FIGURES}
            for r in registers.budget_lines(connection, tables)
        }
    with projector.reading("budget_execution") as (connection, tables, _):
        execution = {}
        for r in budget_execution.report(connection, tables):
            figures = {f: r[f] for f in project_spend.CITY_FIGURES}
            figures["available"] = r["assigned"] + r["carried_in"] - r["committed"] - r["cancelled"]
            execution[city_key(r)] = figures
        said["budget_execution"] = execution
    with projector.reading("journal") as (connection, tables, _):
        balances = journal.balances(connection, tables)
        said["journal"] = {
            (y, p, ch): figures for (y, p, s, ch), figures in balances.items() if s == CITY
        }
        said["journal counterpart"] = {
            (y, p, s): figures for (y, p, s, _ch), figures in balances.items() if s != CITY
        }
    return said


def assert_every_read_path_agrees(
    ledger: Ledger,
) -> dict[str, dict[tuple[Any, ...], dict[str, int]]]:
    said = every_read_path(ledger)
    lines = said["GET /api/budget-lines"]
    assert lines, "no budget lines"
    # budget_execution also has a row for a line the estimate drafted and nothing assigned
    said["budget_execution"] = {
        k: v for k, v in said["budget_execution"].items() if k in lines or any(v.values())
    }
    for path in ("project_spend", "registers", "budget_execution", "journal"):
        assert said[path] == lines, path
    assert said["journal counterpart"] == said["project_spend counterpart"]
    return said
