"""Builders that walk an application through its lifecycle with valid commands.

Tests say what state they need (``scenario.contracted()``) and get back the application id;
each step goes through the application service, as a user would.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from uuid import UUID

from ledger import commands as c
from ledger.service import Ledger, Written
from tests.support.people import People

YEAR = 2015
D = dt.date


def funding(city_budget: int, enterprise: int = 0, other: int = 0) -> c.Funding:
    return c.Funding(city_budget=city_budget, enterprise=enterprise, other=other)


def tax_code() -> str:
    return f"{uuid.uuid4().int % 10**10:010d}"


@dataclass
class Scenario:
    ledger: Ledger
    people: People
    project: str = "DA2"
    support_type: str = "iso_9001"

    def budget(
        self,
        amount: int = 1_000_000_000,
        year: int = YEAR,
        project: str | None = None,
        source: str = "city_budget",
        channel: str = "science_recurrent",
    ) -> UUID:
        return self.ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project=project or self.project,
                source=source,
                channel=channel,
                amount=amount,
                decision_no=f"QĐ-{uuid.uuid4().hex[:6]}",
                decided_on=D(year, 1, 5),
            ),
            self.people.finance,
        ).id

    def enterprise(self) -> UUID:
        return self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=tax_code(),
                name="Công ty TNHH Minh Phát",
                district="QH-CAUGIAY",
                sector="industry",
                size="small",
            ),
            self.people.officer,
        ).id

    def submit(
        self,
        dossier_no: str,
        enterprise_id: UUID | None = None,
        city: int = 60_000_000,
        enterprise: int = 40_000_000,
        title: str = "Áp dụng ISO 9001",
    ) -> Written:
        """Submit a request of ``city`` + ``enterprise`` under ``dossier_no`` (for a new
        enterprise unless one is given)."""
        return self.ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=enterprise_id or self.enterprise(),
                dossier_no=dossier_no,
                project=self.project,
                support_type=self.support_type,
                title=title,
                total_cost=city + enterprise,
                requested=funding(city, enterprise),
                submitted_on=D(YEAR, 2, 1),
            ),
            self.people.officer,
        )

    def appraise(
        self, app_id: UUID, city: int = 60_000_000, enterprise: int = 40_000_000
    ) -> Written:
        return self.ledger.appraise_application(
            c.AppraiseApplication(
                application_id=app_id,
                appraised_on=D(YEAR, 2, 15),
                recommended=funding(city, enterprise),
                note="Đủ điều kiện",
            ),
            self.people.appraiser,
        )

    def submitted(self, city: int = 60_000_000, enterprise_share: int = 40_000_000) -> UUID:
        dossier_no = f"HS-{uuid.uuid4().hex[:8]}"
        title = "Xây dựng và áp dụng ISO 9001:2015"
        return self.submit(dossier_no, city=city, enterprise=enterprise_share, title=title).id

    def appraised(self, city: int = 60_000_000, enterprise_share: int = 40_000_000) -> UUID:
        app_id = self.submitted(city, enterprise_share)
        self.appraise(app_id, city, enterprise_share)
        return app_id

    def approve(self, app_id: UUID, city: int, enterprise_share: int = 0) -> int:
        return self.ledger.approve_application(
            c.ApproveApplication(
                application_id=app_id,
                decision_no=f"QĐ-{uuid.uuid4().hex[:6]}",
                decided_on=D(YEAR, 3, 1),
                budget_year=YEAR,
                approved=funding(city, enterprise_share),
            ),
            self.people.approver,
        ).position

    def approved(self, city: int = 60_000_000, enterprise_share: int = 40_000_000) -> UUID:
        app_id = self.appraised(city, enterprise_share)
        self.approve(app_id, city, enterprise_share)
        return app_id

    def contracted(self, city: int = 60_000_000, enterprise_share: int = 40_000_000) -> UUID:
        app_id = self.approved(city, enterprise_share)
        self.ledger.sign_contract(
            c.SignContract(
                application_id=app_id,
                contract_no=f"HĐ-{uuid.uuid4().hex[:8]}",
                signed_on=D(YEAR, 3, 10),
            ),
            self.people.officer,
        )
        return app_id

    def pay(self, app_id: UUID, amount: int, kind: str = "payment") -> UUID:
        return self.ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app_id,
                paid_on=D(YEAR, 4, 1),
                amount=amount,
                voucher_no=f"PC-{uuid.uuid4().hex[:8]}",
                kind=kind,  # type: ignore[arg-type]
            ),
            self.people.officer,
        ).id

    def accept(self, app_id: UUID, result: str = "passed") -> None:
        outputs = {"management_systems": 1} if result == "passed" else {}
        self.ledger.record_acceptance(
            c.RecordAcceptance(
                application_id=app_id,
                accepted_on=D(YEAR, 9, 1),
                result=result,  # type: ignore[arg-type]
                outputs=outputs,
            ),
            self.people.officer,
        )

    def accepted(self, city: int = 60_000_000, paid: int = 20_000_000) -> UUID:
        app_id = self.contracted(city)
        if paid:
            self.pay(app_id, paid, "advance")
        self.accept(app_id)
        return app_id

    def settled(self, city: int = 60_000_000, paid: int = 60_000_000) -> UUID:
        app_id = self.accepted(city, paid)
        self.ledger.settle_application(
            c.SettleApplication(application_id=app_id, settled_on=D(YEAR, 10, 1)),
            self.people.officer,
        )
        return app_id

    def history_length(self) -> int:
        return self.ledger.position()
