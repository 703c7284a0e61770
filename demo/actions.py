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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from demo import draw
from demo.records import (
    DemoActivity,
    DemoApplication,
    DemoEnterprise,
    DemoEstimate,
    DemoNeed,
    Record,
)
from demo.reference import (
    APPRAISAL_REASONS,
    APPRAISAL_TOLERANCE,
    CITY,
    ESTIMATE_RETURN_REASONS,
    REDUCTION_REASON,
    REJECTION_REASONS,
    RETURN_REASONS,
    USERS,
    WITHDRAWAL_REASONS,
    rule_limit,
)
from ledger import catalogue
from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.budget_line import format_vnd
from ledger.service import Ledger

LineKey = tuple[int, str, str]  # budget year, project, channel


@dataclass(eq=False)
class CityLine:
    """A city-budget line (year × project × channel) as the demo has written it so far: the
    same figures as the ledger's line, kept so that approvals that would not fit are trimmed
    or refused the way the program did it, not by tripping over the ledger's guard."""

    assigned: int = 0
    carried_in: int = 0
    committed: int = 0
    carried_out: int = 0
    cancelled: int = 0
    closed: bool = False

    @property
    def available(self) -> int:
        return self.assigned + self.carried_in - self.committed - self.cancelled

    def release(self, amount: int) -> None:
        """A commitment released; on a closed line the money is cancelled at once."""
        self.committed -= amount
        if self.closed:
            self.cancelled += self.available


def unpaid_of(record: Record) -> int:
    """What a record has committed and not been paid (what a year close carries over)."""
    if isinstance(record, DemoActivity):
        return 0 if record.stopped else record.budget - record.spent
    if record.status in ("settled", "cancelled"):
        return 0
    return record.approved_city - record.net_out


def line_order(key: tuple[str, str]) -> tuple[int, int]:
    project, channel = key
    return (list(catalogue.PROJECTS).index(project), list(catalogue.CHANNELS).index(channel))


class LedgerActions:
    """Carries out the demo's steps through the application service and keeps account of
    what it wrote: the demo's people, the city-budget lines, the actions done."""

    def __init__(self, ledger: Ledger, rng: random.Random) -> None:
        self.ledger = ledger
        self.rng = rng
        self.people: dict[str, Actor] = {}
        self.lines: dict[LineKey, CityLine] = {}
        #: applications and activities that committed money, in the order they did
        self.committing: list[Record] = []
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

    # -- the budget cycle ---------------------------------------------------------------------

    def line(self, key: LineKey) -> CityLine:
        """The demo's account of a line (opened empty the first time it is named)."""
        found = self.lines.get(key)
        if found is None:
            found = self.lines[key] = CityLine()
        return found

    def room(self, key: LineKey) -> int:
        """What is uncommitted on a line (0 if it was never assigned or is closed)."""
        found = self.lines.get(key)
        return 0 if found is None or found.closed else max(found.available, 0)

    def add_support_rule(
        self,
        support_type: str,
        percent: int,
        most: int,
        document_no: str,
        signed_on: dt.date,
        effective_from: dt.date,
    ) -> None:
        self.ledger.add_support_rule(
            c.AddSupportRule(
                support_type=support_type,
                max_share_percent=percent,
                max_amount=most,
                legal_basis=c.LegalBasis(document_no=document_no, signed_on=signed_on),
                effective_from=effective_from,
            ),
            self.people["finance_1"],
        )
        self.done("add_support_rule")

    def report_needs(self, year: int, need: DemoNeed, on: dt.date) -> None:
        self.ledger.report_needs(
            c.ReportNeeds(
                budget_year=year,
                project=need.project,
                support_type=need.support_type,
                enterprises=need.enterprises,
                amount=need.amount,
                note=need.note,
                reported_on=on,
            ),
            need.actor,
        )
        self.done("report_needs")

    def draft_estimate(self, estimate: DemoEstimate, on: dt.date) -> None:
        """SKHCN's draft, from the read models (run alone, outside a batch's transaction)."""
        written = self.ledger.draft_estimate(
            c.DraftEstimate(budget_year=estimate.budget_year, prepared_on=on),
            self.people["intake_1"],
        )
        lines = written.extra["lines"]
        estimate.drafts.append({(x["project"], x["channel"]): x["amount"] for x in lines})
        self.done("draft_estimate")

    def return_estimate(self, estimate: DemoEstimate, on: dt.date) -> None:
        self.ledger.return_estimate(
            c.ReturnEstimate(
                budget_year=estimate.budget_year,
                reason=self.rng.choice(ESTIMATE_RETURN_REASONS),
                returned_on=on,
            ),
            self.people["finance_1"],
        )
        self.done("return_estimate")

    def appraise_estimate(self, estimate: DemoEstimate, on: dt.date) -> None:
        """Sở Tài chính keeps the draft's lines near what it finds right and changes the
        others, each with its reason."""
        year = estimate.budget_year
        drafted = estimate.drafts[-1]
        listed: list[c.EstimateLine] = []
        appraised = dict(drafted)
        for key in sorted(set(drafted) | set(estimate.targets), key=line_order):
            project, channel = key
            before = drafted.get(key)
            target = estimate.targets.get(key, 0)
            if before is None and target == 0:
                continue
            if before is not None and abs(before - target) <= APPRAISAL_TOLERANCE * max(
                before, target
            ):
                continue
            if before is None:
                why = "new"
            elif target == 0:
                why = "none"
            else:
                why = "down" if target < before else "up"
            channel_name = catalogue.CHANNELS[channel].name_vi.lower()
            reason = APPRAISAL_REASONS[why].format(year=year, channel=channel_name)
            listed.append(
                c.EstimateLine(
                    project=project, source=CITY, channel=channel, amount=target, reason=reason
                )
            )
            appraised[key] = target
        if not listed:  # nothing to change: the appraisal confirms the draft's first line
            key = min(drafted, key=line_order)
            listed.append(
                c.EstimateLine(project=key[0], source=CITY, channel=key[1], amount=drafted[key])
            )
        self.ledger.appraise_estimate(
            c.AppraiseEstimate(budget_year=year, appraised_on=on, lines=listed),
            self.people["finance_1"],
        )
        estimate.appraised = appraised
        self.done("appraise_estimate")

    def approve_estimate(self, estimate: DemoEstimate, on: dt.date) -> None:
        """The city's approval: it assigns the appraised lines of the year."""
        year = estimate.budget_year
        estimate.decision_no = f"{self.rng.randrange(5000, 7000)}/QĐ-UBND"
        self.ledger.approve_estimate(
            c.ApproveEstimate(budget_year=year, decision_no=estimate.decision_no, decided_on=on),
            self.people["leader"],
        )
        for (project, channel), amount in estimate.appraised.items():
            if amount > 0:
                self.line((year, project, channel)).assigned += amount
        self.done("approve_estimate")

    def supplement(self, key: LineKey, wanted: Callable[[dt.date], int], on: dt.date) -> None:
        """Bổ sung dự toán: mid-year, a line short of what the year still has to approve is
        usually (not always) topped up by decision."""
        year, project, channel = key
        short = wanted(on) - self.room(key)
        if short <= 0 or self.rng.random() < 0.25:
            return
        amount = draw.round_down(short * self.rng.uniform(0.9, 1.3), 10_000_000)
        self.ledger.assign_budget(
            c.AssignBudget(
                budget_year=year,
                project=project,
                source=CITY,
                channel=channel,
                amount=amount,
                decision_no=f"{self.rng.randrange(3000, 4500)}/QĐ-UBND",
                decided_on=on,
            ),
            self.people["finance_1"],
        )
        self.line(key).assigned += amount
        self.done("assign_budget")

    def reduce(self, key: LineKey, wanted: Callable[[dt.date], int], on: dt.date) -> None:
        """Điều chỉnh giảm: in the last quarter, part of what a line will not use."""
        year, project, channel = key
        spare = self.room(key) - wanted(on) * 1.1
        if spare < 50_000_000 or self.rng.random() < 0.4:
            return
        amount = draw.round_down(spare * self.rng.uniform(0.5, 0.9), 10_000_000)
        self.ledger.reduce_budget(
            c.ReduceBudget(
                budget_year=year,
                project=project,
                source=CITY,
                channel=channel,
                amount=amount,
                decision_no=f"{self.rng.randrange(4500, 5000)}/QĐ-UBND",
                decided_on=on,
                reason=REDUCTION_REASON.format(year=year),
            ),
            self.people["finance_1"],
        )
        self.line(key).assigned -= amount
        self.done("reduce_budget")

    def close_year(self, year: int, on: dt.date) -> None:
        """Khóa sổ: what records committed on the year's lines and were not paid is carried
        over to the same lines of the next year (they draw there from now on); the rest is
        cancelled."""
        self.ledger.close_budget_year(
            c.CloseBudgetYear(budget_year=year, closed_on=on), self.people["finance_2"]
        )
        for record in self.committing:
            if record.drawing_year != year:
                continue
            unpaid = unpaid_of(record)
            if unpaid <= 0:
                continue
            self.line((year, record.project, record.channel)).carried_out += unpaid
            following = self.line((year + 1, record.project, record.channel))
            following.carried_in += unpaid
            following.committed += unpaid
            record.drawing_year = year + 1
        for (line_year, _, _), line in self.lines.items():
            if line_year == year:
                line.cancelled += line.available
                line.closed = True
        self.done("close_budget_year")

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
        key = (on.year, app.project, app.channel)
        approved = dict(app.recommended)
        # the clerk trims the city share at the support rule in force on the decision's date
        limit = rule_limit(app.support_type, on, app.total_cost) // 100_000 * 100_000
        approved[CITY] = min(approved[CITY], limit)
        want = approved[CITY]
        available = self.room(key)
        if want > available:
            # The year's money has run out: approve what is left if it is worth it, else refuse.
            room = available // 100_000 * 100_000
            if room < max(want // 2, 5_000_000):
                reason = (
                    f"Không còn dự toán ngân sách năm {on.year} của {app.project} để hỗ trợ "
                    f"({format_vnd(available)} chưa phân bổ)"
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
                channel=app.channel,
            ),
            app.approver,
        )
        app.approved = approved
        app.budget_year = app.drawing_year = on.year
        self.line(key).committed += approved[CITY]
        self.committing.append(app)
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
        app.paid(amount)
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
        app.paid(-last[1])
        if app.status in ("settled", "cancelled"):  # closed: what it takes back is uncommitted
            self.drawing_line(app).release(last[1])
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
        # what the enterprise (and other sources) really spent: around the pledge if the work
        # was done, well short of it if it failed
        low, high = (0.85, 1.15) if result == "passed" else (0.3, 0.8)
        spent = {
            source: draw.round_down(pledged * self.rng.uniform(low, high)) if pledged else 0
            for source in ("enterprise", "other")
            for pledged in [app.approved.get(source, 0)]
        }
        self.ledger.record_acceptance(
            c.RecordAcceptance(
                application_id=self.application_id(app),
                accepted_on=on,
                result="passed" if result == "passed" else "failed",
                outputs=outputs,
                counterpart_spent=c.CounterpartSpent(**spent),
            ),
            app.appraiser,
        )
        app.status = "accepted" if result == "passed" else "acceptance_failed"
        self.done("record_acceptance")

    def drawing_line(self, record: Record) -> CityLine:
        """The line a record draws on now: its budget year's, or a later one after a close."""
        return self.line((record.drawing_year, record.project, record.channel))

    def release(self, app: DemoApplication) -> None:
        self.drawing_line(app).release(app.approved_city - app.net_out)

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
            for year, part in app.recovery_lines(amount):
                self.line((year, app.project, app.channel)).release(part)
        else:
            app.paid(-amount)
        self.done("receive_recovery")

    def approve_activity(self, activity: DemoActivity, on: dt.date) -> None:
        key = (activity.budget_year, activity.project, activity.channel)
        if activity.budget > self.room(key):
            room = self.room(key) // 1_000_000 * 1_000_000
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
                channel=activity.channel,
            ),
            activity.actor,
        )
        activity.id = written.id
        activity.drawing_year = activity.budget_year
        self.line(key).committed += activity.budget
        self.committing.append(activity)
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
        self.drawing_line(activity).release(activity.budget - activity.spent)
        activity.stopped = True
        self.done("complete_activity")
