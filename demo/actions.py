"""The steps of the demo's plan carried out: each one command of the ledger.

:class:`LedgerActions` is the :class:`demo.plan.Actions` that ``load_demo`` runs: each step
becomes a command of the application service (``Ledger``), run by a demo user whose role
may run it, and what the ledger gives back (ids) is kept on the demo's records. It keeps
account of the money committed on each city-budget line, so approvals that would not fit
are reduced or refused the way the program did it, not by tripping over the ledger's guard.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from uuid import UUID

from demo import draw
from demo.records import DemoActivity, DemoApplication, DemoEnterprise
from demo.reference import CITY, REJECTION_REASONS, RETURN_REASONS, USERS, WITHDRAWAL_REASONS
from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.budget_line import format_vnd
from ledger.service import Ledger


@dataclass(eq=False)
class CityLine:
    """A city-budget line as the demo has assigned and committed it so far."""

    assigned: int = 0
    committed: int = 0

    @property
    def available(self) -> int:
        return self.assigned - self.committed


class LedgerActions:
    """Carries out the demo's steps through the application service and keeps account of
    what it wrote: the demo's people, the city-budget lines, the actions done."""

    def __init__(self, ledger: Ledger, rng: random.Random) -> None:
        self.ledger = ledger
        self.rng = rng
        self.people: dict[str, Actor] = {}
        self.lines: dict[tuple[int, str], CityLine] = defaultdict(CityLine)
        self.budget_lines: set[tuple[int, str, str]] = set()
        self.actions_done: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.city_disbursed = 0
        self.city_recovered = 0

    def number(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def grant_users(self) -> None:
        for key, (name, role, department) in USERS.items():
            granted = self.ledger.grant_access(
                c.GrantAccess(name=name, role=role, department=department), SYSTEM
            )
            self.people[key] = Actor(str(granted.user_id), name, role, department)
            self.done("grant_access")

    def done(self, action: str) -> None:
        self.actions_done[action] += 1

    def assign_budget(
        self,
        year: int,
        project: str,
        source: str,
        amount: int,
        decision_no: str,
        actor: Actor,
        on: dt.date,
    ) -> None:
        self.ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project=project,
                source=source,
                amount=amount,
                decision_no=decision_no,
                decided_on=on,
            ),
            actor,
        )
        self.budget_lines.add((year, project, source))
        if source == CITY:
            self.lines[year, project].assigned += amount
        self.done("assign_budget")

    def register(self, enterprise: DemoEnterprise, officer: Actor, on: dt.date) -> None:
        written = self.ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=enterprise.tax_code,
                name=enterprise.name,
                district=enterprise.district,
                sector=enterprise.sector,
                size=enterprise.size,
                registered_on=on,
            ),
            officer,
        )
        enterprise.id = written.id
        self.done("register_enterprise")

    def correct_district(self, enterprise: DemoEnterprise, on: dt.date) -> None:
        assert enterprise.id is not None and enterprise.split_into is not None
        self.ledger.correct_enterprise(
            c.CorrectEnterprise(
                enterprise_id=enterprise.id,
                corrected_on=on,
                district=enterprise.split_into,
                reason="Huyện Từ Liêm tách thành quận Bắc Từ Liêm và quận Nam Từ Liêm "
                "(Nghị quyết 132/NQ-CP ngày 27/12/2013)",
            ),
            self.people.get(enterprise.split_into, self.people["intake_1"]),
        )
        enterprise.district = enterprise.split_into
        self.done("correct_enterprise")

    def submit(self, app: DemoApplication, on: dt.date) -> None:
        assert app.enterprise.id is not None
        number = self.number(f"HS{on.year}{app.project}")
        dossier_no = f"HS-{on.year}-{app.project}-{number:05d}"
        written = self.ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=app.enterprise.id,
                dossier_no=dossier_no,
                project=app.project,
                support_type=app.support_type,
                title=app.title,
                total_cost=app.total_cost,
                requested=c.Funding(**app.requested),
                submitted_on=on,
            ),
            app.submitter,
        )
        app.id = written.id
        app.status = "submitted"
        self.done("submit_application")

    def application_id(self, app: DemoApplication) -> UUID:
        assert app.id is not None
        return app.id

    def return_(self, app: DemoApplication, on: dt.date) -> None:
        self.ledger.return_application(
            c.ReturnApplication(
                application_id=self.application_id(app),
                returned_on=on,
                reason=self.rng.choice(RETURN_REASONS),
            ),
            app.handler,
        )
        app.status = "returned"
        self.done("return_application")

    def resubmit(self, app: DemoApplication, on: dt.date) -> None:
        self.ledger.resubmit_application(
            c.ResubmitApplication(
                application_id=self.application_id(app),
                resubmitted_on=on,
                note="Doanh nghiệp đã bổ sung, hoàn thiện hồ sơ",
            ),
            app.handler,
        )
        app.status = "submitted"
        self.done("resubmit_application")

    def appraise(self, app: DemoApplication, on: dt.date) -> None:
        trimmed = app.recommended[CITY] < app.requested[CITY]
        note = (
            "Đề nghị điều chỉnh giảm kinh phí hỗ trợ từ ngân sách theo định mức"
            if trimmed
            else "Hồ sơ đủ điều kiện; đề nghị hỗ trợ như đề xuất"
        )
        self.ledger.appraise_application(
            c.AppraiseApplication(
                application_id=self.application_id(app),
                appraised_on=on,
                recommended=c.Funding(**app.recommended),
                note=note,
            ),
            app.appraiser,
        )
        app.status = "appraised"
        self.done("appraise_application")

    def approve(self, app: DemoApplication, on: dt.date) -> None:
        line = self.lines[on.year, app.project]
        approved = dict(app.recommended)
        want = approved[CITY]
        if want > line.available:
            # The year's money has run out: approve what is left if it is worth it, else refuse.
            room = max(line.available, 0) // 100_000 * 100_000
            if room < max(want // 2, 5_000_000):
                reason = (
                    f"Không còn dự toán ngân sách năm {on.year} của {app.project} để hỗ trợ "
                    f"({format_vnd(max(line.available, 0))} chưa phân bổ)"
                )
                self.reject(app, on, app.approver, reason)
                app.stopped = True
                return
            approved[CITY] = room
        number = self.number(f"QĐ{on.year}")
        self.ledger.approve_application(
            c.ApproveApplication(
                application_id=self.application_id(app),
                decision_no=f"{number}/QĐ-SKHCN",
                decided_on=on,
                budget_year=on.year,
                approved=c.Funding(**approved),
            ),
            app.approver,
        )
        app.approved = approved
        app.budget_year = on.year
        line.committed += approved[CITY]
        app.status = "approved"
        self.done("approve_application")

    def reject(self, app: DemoApplication, on: dt.date, actor: Actor, reason: str = "") -> None:
        self.ledger.reject_application(
            c.RejectApplication(
                application_id=self.application_id(app),
                decided_on=on,
                reason=reason or self.rng.choice(REJECTION_REASONS),
            ),
            actor,
        )
        app.status = "rejected"
        self.done("reject_application")

    def withdraw(self, app: DemoApplication, on: dt.date) -> None:
        self.ledger.withdraw_application(
            c.WithdrawApplication(
                application_id=self.application_id(app),
                withdrawn_on=on,
                reason=self.rng.choice(WITHDRAWAL_REASONS),
            ),
            app.handler,
        )
        app.status = "withdrawn"
        self.done("withdraw_application")

    def sign_contract(self, app: DemoApplication, on: dt.date) -> None:
        contract_no = f"{self.number(f'HĐ{on.year}'):04d}/{on.year}/HĐ-NSCL"
        self.ledger.sign_contract(
            c.SignContract(
                application_id=self.application_id(app), contract_no=contract_no, signed_on=on
            ),
            app.handler,
        )
        app.status = "contracted"
        self.done("sign_contract")

    def voucher(self, prefix: str, year: int) -> str:
        return f"{prefix}-{year}-{self.number(f'{prefix}{year}'):06d}"

    def pay(self, app: DemoApplication, on: dt.date, kind: str, share: float) -> None:
        room = app.approved_city - app.net_out
        if kind == "advance":
            amount = min(room, draw.round_down(app.approved_city * share))
        elif share >= 1:
            amount = room
        else:
            amount = min(room, draw.round_down(app.approved_city * share) - app.net_out)
        if amount <= 0:
            return
        written = self.ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=self.application_id(app),
                paid_on=on,
                amount=amount,
                voucher_no=self.voucher("UNC", on.year),
                kind="advance" if kind == "advance" else "payment",
            ),
            app.handler,
        )
        app.disbursements.append([written.id, amount, False])
        self.city_disbursed += amount
        self.done("record_disbursement")

    def reverse(self, app: DemoApplication, on: dt.date, reason: str) -> None:
        live = [d for d in app.disbursements if not d[2]]
        if not live:
            return
        last = live[-1]
        self.ledger.reverse_disbursement(
            c.ReverseDisbursement(
                application_id=self.application_id(app),
                disbursement_id=last[0],
                reversed_on=on,
                reason=reason,
            ),
            app.handler,
        )
        last[2] = True
        self.city_disbursed -= last[1]
        self.done("reverse_disbursement")

    def accept(self, app: DemoApplication, on: dt.date, result: str) -> None:
        outputs: dict[str, int] = {}
        target = catalogue.SUPPORT_TYPES[app.support_type].target
        if result == "passed" and target is not None:
            per_enterprise = catalogue.TARGETS[target].unit_kind == "enterprises"
            if per_enterprise or target == "marks_gi":
                outputs[target] = 1
            else:  # designs, patents, base standards: one to three of them
                outputs[target] = self.rng.choice((1, 1, 1, 2, 2, 3))
        self.ledger.record_acceptance(
            c.RecordAcceptance(
                application_id=self.application_id(app),
                accepted_on=on,
                result="passed" if result == "passed" else "failed",
                outputs=outputs,
            ),
            app.appraiser,
        )
        app.status = "accepted" if result == "passed" else "acceptance_failed"
        self.done("record_acceptance")

    def release(self, app: DemoApplication) -> None:
        self.lines[app.budget_year, app.project].committed -= app.approved_city - app.net_out

    def settle(self, app: DemoApplication, on: dt.date) -> None:
        self.ledger.settle_application(
            c.SettleApplication(
                application_id=self.application_id(app),
                settled_on=on,
                note="Thanh lý hợp đồng, quyết toán kinh phí hỗ trợ",
            ),
            app.handler,
        )
        self.release(app)
        app.status = "settled"
        self.done("settle_application")

    def cancel(self, app: DemoApplication, on: dt.date, reason: str) -> None:
        self.ledger.cancel_application(
            c.CancelApplication(
                application_id=self.application_id(app), cancelled_on=on, reason=reason
            ),
            app.handler,
        )
        self.release(app)
        app.status = "cancelled"
        self.done("cancel_application")

    def order_recovery(
        self, app: DemoApplication, on: dt.date, fraction: float, reason: str
    ) -> None:
        recoverable = app.disbursed - app.recovery_ordered
        if fraction < 1:
            recoverable = min(recoverable, draw.round_down(app.disbursed * fraction))
        if recoverable <= 0:
            return
        written = self.ledger.order_recovery(
            c.OrderRecovery(
                application_id=self.application_id(app),
                ordered_on=on,
                amount=recoverable,
                reason=reason,
            ),
            self.people["finance_2"],
        )
        app.recovery_orders.append((written.id, recoverable))
        app.recovery_ordered += recoverable
        self.done("order_recovery")

    def receive_recovery(self, app: DemoApplication, on: dt.date) -> None:
        if not app.recovery_orders:
            return
        recovery_id, amount = app.recovery_orders.pop(0)
        self.ledger.receive_recovery(
            c.ReceiveRecovery(
                application_id=self.application_id(app),
                recovery_id=recovery_id,
                received_on=on,
                voucher_no=self.voucher("GNT", on.year),
            ),
            self.people["finance_2"],
        )
        app.recovered += amount
        self.city_recovered += amount
        if app.status in ("settled", "cancelled"):  # closed: what comes back is uncommitted
            self.lines[app.budget_year, app.project].committed -= amount
        self.done("receive_recovery")

    def approve_activity(self, activity: DemoActivity, on: dt.date) -> None:
        line = self.lines[activity.budget_year, activity.project]
        if activity.budget > line.available:
            room = max(line.available, 0) // 1_000_000 * 1_000_000
            if room < activity.budget // 2:
                activity.stopped = True  # not funded this year: nothing is written
                return
            activity.budget = room
        number = self.number(f"QĐ{on.year}")
        written = self.ledger.approve_activity(
            c.ApproveActivity(
                department=activity.department,
                project=activity.project,
                kind=activity.kind,
                title=activity.title,
                budget_year=activity.budget_year,
                budget=activity.budget,
                decision_no=f"{number}/QĐ-SKHCN",
                approved_on=on,
            ),
            activity.actor,
        )
        activity.id = written.id
        line.committed += activity.budget
        self.done("approve_activity")

    def spend(
        self, activity: DemoActivity, on: dt.date, share: float, total_share: float, final: bool
    ) -> None:
        if activity.id is None or activity.stopped:
            return
        if final:
            amount = draw.round_down(activity.budget * total_share, 1_000_000) - activity.spent
        else:
            amount = draw.round_down(activity.budget * share, 1_000_000)
        amount = min(amount, activity.budget - activity.spent)
        if amount <= 0:
            return
        self.ledger.record_activity_spending(
            c.RecordActivitySpending(
                activity_id=activity.id,
                spent_on=on,
                amount=amount,
                voucher_no=self.voucher("PC", on.year),
            ),
            activity.actor,
        )
        activity.spent += amount
        self.city_disbursed += amount
        self.done("record_activity_spending")

    def complete_activity(self, activity: DemoActivity, on: dt.date) -> None:
        if activity.id is None or activity.stopped:
            return
        self.ledger.complete_activity(
            c.CompleteActivity(
                activity_id=activity.id,
                completed_on=on,
                report=f"Đã hoàn thành; kinh phí thực hiện {format_vnd(activity.spent)}",
            ),
            activity.actor,
        )
        self.lines[activity.budget_year, activity.project].committed -= (
            activity.budget - activity.spent
        )
        activity.stopped = True
        self.done("complete_activity")
