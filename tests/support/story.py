"""The story of an application: reach any status of a support application through the
application service, and run each lifecycle step with fresh references (``Story``); read the
budget line and the status it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger import commands as c
from ledger.access import Actor
from ledger.service import Ledger, Written
from tests.support.names import ref
from tests.support.scenario import YEAR, D, Scenario, funding

CITY = 60_000_000  # the city-budget share an application asks for and is approved
ENTERPRISE = 40_000_000  # the enterprise's own share
ADVANCE = 20_000_000
PAYMENT = 10_000_000
RECOVERY = 5_000_000


def line(ledger: Ledger, year: int = YEAR, project: str = "DA2") -> dict[str, Any]:
    [found] = ledger.get_budget_lines(year, project, "city_budget")
    return found


def figures(ledger: Ledger, year: int = YEAR, project: str = "DA2") -> dict[str, int]:
    found = line(ledger, year, project)
    keys = ("assigned", "committed", "disbursed", "recovered", "available")
    return {k: found[k] for k in keys}


def status(ledger: Ledger, application_id: UUID) -> str:
    return str(ledger.get_application(application_id)["status"])


# -- the story of an application ----------------------------------------------------------------


@dataclass(frozen=True)
class Reached:
    """An application brought to a status, with the money records it holds by then."""

    application_id: UUID
    payment_id: UUID | None = None  # a payment that may still be reversed
    recovery_id: UUID | None = None  # a recovery ordered and not yet received


@dataclass
class Story(Scenario):
    """The scenario builders, with every other step of the lifecycle as one call each."""

    # -- steps, each through the application service, with fresh reference numbers

    def register(self, tax_code: str) -> Written:
        return self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=tax_code,
                name="Công ty CP Thăng Long",
                district="QH-BADINH",
                sector="food",
                size="medium",
            ),
            self.people.officer,
        )

    def send_back(self, app_id: UUID) -> Written:
        return self.ledger.return_application(
            c.ReturnApplication(
                application_id=app_id, returned_on=D(YEAR, 2, 5), reason="Thiếu báo cáo tài chính"
            ),
            self.people.officer,
        )

    def resubmit(self, app_id: UUID) -> Written:
        return self.ledger.resubmit_application(
            c.ResubmitApplication(
                application_id=app_id, resubmitted_on=D(YEAR, 2, 10), note="Đã bổ sung"
            ),
            self.people.officer,
        )

    def approve_by(
        self,
        actor: Actor,
        app_id: UUID,
        city: int = CITY,
        enterprise: int = ENTERPRISE,
        other: int = 0,
        year: int = YEAR,
    ) -> Written:
        return self.ledger.approve_application(
            c.ApproveApplication(
                application_id=app_id,
                decision_no=ref("QĐ"),
                decided_on=D(YEAR, 3, 1),
                budget_year=year,
                approved=funding(city, enterprise, other),
            ),
            actor,
        )

    def reject(self, app_id: UUID) -> Written:
        return self.ledger.reject_application(
            c.RejectApplication(
                application_id=app_id, decided_on=D(YEAR, 3, 1), reason="Không đủ điều kiện"
            ),
            self.people.officer,
        )

    def withdraw(self, app_id: UUID) -> Written:
        return self.ledger.withdraw_application(
            c.WithdrawApplication(
                application_id=app_id, withdrawn_on=D(YEAR, 2, 20), reason="Doanh nghiệp rút"
            ),
            self.people.officer,
        )

    def sign(self, app_id: UUID, contract_no: str | None = None) -> Written:
        return self.ledger.sign_contract(
            c.SignContract(
                application_id=app_id,
                contract_no=contract_no or ref("HĐ"),
                signed_on=D(YEAR, 3, 10),
            ),
            self.people.officer,
        )

    def pay_with(self, app_id: UUID, amount: int, voucher_no: str) -> Written:
        return self.ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app_id,
                paid_on=D(YEAR, 4, 1),
                amount=amount,
                voucher_no=voucher_no,
                kind="payment",
            ),
            self.people.officer,
        )

    def reverse(self, app_id: UUID, payment_id: UUID, reason: str = "Chi sai") -> Written:
        return self.ledger.reverse_disbursement(
            c.ReverseDisbursement(
                application_id=app_id,
                disbursement_id=payment_id,
                reversed_on=D(YEAR, 4, 10),
                reason=reason,
            ),
            self.people.officer,
        )

    def settle(self, app_id: UUID) -> Written:
        return self.ledger.settle_application(
            c.SettleApplication(application_id=app_id, settled_on=D(YEAR, 10, 1)),
            self.people.officer,
        )

    def cancel(self, app_id: UUID) -> Written:
        return self.ledger.cancel_application(
            c.CancelApplication(
                application_id=app_id, cancelled_on=D(YEAR, 6, 1), reason="Doanh nghiệp dừng"
            ),
            self.people.officer,
        )

    def order_recovery(self, app_id: UUID, amount: int = RECOVERY) -> UUID:
        return self.ledger.order_recovery(
            c.OrderRecovery(
                application_id=app_id,
                ordered_on=D(YEAR, 11, 1),
                amount=amount,
                reason="Chi vượt định mức",
            ),
            self.people.finance,
        ).id

    def receive_recovery(
        self, app_id: UUID, recovery_id: UUID, voucher_no: str | None = None
    ) -> Written:
        return self.ledger.receive_recovery(
            c.ReceiveRecovery(
                application_id=app_id,
                recovery_id=recovery_id,
                received_on=D(YEAR, 11, 20),
                voucher_no=voucher_no or ref("PT"),
            ),
            self.people.finance,
        )

    # -- program activities

    def activity(self, budget: int = 30_000_000, year: int = YEAR) -> UUID:
        return self.ledger.approve_activity(
            c.ApproveActivity(
                department="SKHCN",
                project=self.project,
                kind="training",
                title="Tập huấn năng suất chất lượng",
                budget_year=year,
                budget=budget,
                decision_no=ref("QĐ"),
                approved_on=D(YEAR, 1, 20),
            ),
            self.people.officer,
        ).id

    def spend(self, activity_id: UUID, amount: int, voucher_no: str | None = None) -> Written:
        return self.ledger.record_activity_spending(
            c.RecordActivitySpending(
                activity_id=activity_id,
                spent_on=D(YEAR, 5, 1),
                amount=amount,
                voucher_no=voucher_no or ref("PC"),
            ),
            self.people.officer,
        )

    def complete(self, activity_id: UUID) -> Written:
        return self.ledger.complete_activity(
            c.CompleteActivity(
                activity_id=activity_id, completed_on=D(YEAR, 12, 1), report="Đã tập huấn 120 người"
            ),
            self.people.officer,
        )

    # -- statuses

    def with_money(self, app_id: UUID) -> Reached:
        """An advance, a payment and an open recovery order on a contracted application."""
        self.pay(app_id, ADVANCE, "advance")
        payment_id = self.pay(app_id, PAYMENT)
        recovery_id = self.order_recovery(app_id)
        return Reached(app_id, payment_id, recovery_id)

    def reach(self, status: str) -> Reached:
        """A fresh application in ``status``, built step by step as users would."""
        if status == "submitted":
            return Reached(self.submitted(CITY, ENTERPRISE))
        if status == "returned":
            app_id = self.submitted(CITY, ENTERPRISE)
            self.send_back(app_id)
            return Reached(app_id)
        if status == "appraised":
            return Reached(self.appraised(CITY, ENTERPRISE))
        if status == "approved":
            return Reached(self.approved(CITY, ENTERPRISE))
        if status == "rejected":
            app_id = self.appraised(CITY, ENTERPRISE)
            self.reject(app_id)
            return Reached(app_id)
        if status == "withdrawn":
            app_id = self.submitted(CITY, ENTERPRISE)
            self.withdraw(app_id)
            return Reached(app_id)
        reached = self.with_money(self.contracted(CITY, ENTERPRISE))
        app_id = reached.application_id
        if status == "contracted":
            pass
        elif status in ("accepted", "settled"):
            self.accept(app_id, "passed")
            if status == "settled":
                self.settle(app_id)
        elif status == "acceptance_failed":
            self.accept(app_id, "failed")
        elif status == "cancelled":
            self.cancel(app_id)
        else:
            raise AssertionError(f"no way to reach {status!r}")
        return reached
