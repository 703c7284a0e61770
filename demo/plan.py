"""The plan of the demo program: what happens when, before anything is written.

:class:`Planner` draws the records (:mod:`demo.records`), then dates every step of each: an
enterprise's registration (and, for Từ Liêm firms, the correction of its district in 2014),
each application's lifecycle from submission to how it ends, each activity's approval,
spending and completion, and each year's budget lines, sized on the approvals and
activities planned for that year. A step is a call of one of :class:`Actions`, carried out
through the ledger (:mod:`demo.actions`) in date order by :func:`demo.run.load_demo`; what
would fall after 2020 is left out. Planning draws from the load's one ``random.Random``
before the steps do.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple, Protocol

from demo import draw, records
from demo.records import DemoActivity, DemoApplication, DemoEnterprise
from demo.reference import (
    ACTIVITIES_PER_SCALE,
    APPLICATIONS_PER_SCALE,
    CITY,
    END,
    ENTERPRISES_PER_SCALE,
    FIRST_YEAR,
    LAST_YEAR,
    TU_LIEM_CORRECTED_ON,
)
from ledger import catalogue
from ledger.access import Actor


class Step(NamedTuple):
    date: dt.date
    rank: int  # on one day: budget decisions, then registrations, then the rest
    seq: int
    run: Callable[[dt.date], None]


class Actions(Protocol):
    """The steps a plan is made of, each carried out on its date ``on`` (:mod:`demo.actions`)."""

    def assign_budget(
        self,
        year: int,
        project: str,
        source: str,
        amount: int,
        decision_no: str,
        actor: Actor,
        on: dt.date,
    ) -> None: ...
    def register(self, enterprise: DemoEnterprise, officer: Actor, on: dt.date) -> None: ...
    def correct_district(self, enterprise: DemoEnterprise, on: dt.date) -> None: ...
    def submit(self, app: DemoApplication, on: dt.date) -> None: ...
    def return_(self, app: DemoApplication, on: dt.date) -> None: ...
    def resubmit(self, app: DemoApplication, on: dt.date) -> None: ...
    def appraise(self, app: DemoApplication, on: dt.date) -> None: ...
    def approve(self, app: DemoApplication, on: dt.date) -> None: ...
    def reject(self, app: DemoApplication, on: dt.date, actor: Actor, reason: str = "") -> None: ...
    def withdraw(self, app: DemoApplication, on: dt.date) -> None: ...
    def sign_contract(self, app: DemoApplication, on: dt.date) -> None: ...
    def pay(self, app: DemoApplication, on: dt.date, kind: str, share: float) -> None: ...
    def reverse(self, app: DemoApplication, on: dt.date, reason: str) -> None: ...
    def accept(self, app: DemoApplication, on: dt.date, result: str) -> None: ...
    def settle(self, app: DemoApplication, on: dt.date) -> None: ...
    def cancel(self, app: DemoApplication, on: dt.date, reason: str) -> None: ...
    def order_recovery(
        self, app: DemoApplication, on: dt.date, fraction: float, reason: str
    ) -> None: ...
    def receive_recovery(self, app: DemoApplication, on: dt.date) -> None: ...
    def approve_activity(self, activity: DemoActivity, on: dt.date) -> None: ...
    def spend(
        self, activity: DemoActivity, on: dt.date, share: float, total_share: float, final: bool
    ) -> None: ...
    def complete_activity(self, activity: DemoActivity, on: dt.date) -> None: ...


class Planner:
    """Plans the demo program for ``people`` (the demo's users, already granted), its steps
    calls of ``actions``."""

    def __init__(
        self, rng: random.Random, scale: float, people: dict[str, Actor], actions: Actions
    ) -> None:
        self.rng = rng
        self.scale = scale
        self.people = people
        self.actions = actions
        self.steps: list[Step] = []
        self.enterprises: list[DemoEnterprise] = []
        self.applications: list[DemoApplication] = []
        self.activities: list[DemoActivity] = []

    def at(self, date: dt.date, run: Callable[[dt.date], None], rank: int = 2) -> bool:
        """Plan ``run`` for ``date``; what would fall after 2020 is left undone."""
        if date > END:
            return False
        self.steps.append(Step(date, rank, len(self.steps), run))
        return True

    def plan(self) -> None:
        rng = self.rng
        n_enterprises = max(1, round(ENTERPRISES_PER_SCALE * self.scale))
        n_applications = max(1, round(APPLICATIONS_PER_SCALE * self.scale))
        n_activities = max(1, round(ACTIVITIES_PER_SCALE * self.scale))
        self.enterprises = records.enterprises(rng, n_enterprises)
        self.applications = records.applications(rng, n_applications, self.enterprises)
        records.assign_outcomes(rng, self.applications)
        records.assign_people(rng, self.applications, self.people)
        records.place_enterprises(rng, self.enterprises)
        self.activities = records.activities(rng, n_activities, self.people)
        for enterprise in self.enterprises:
            if enterprise.first_date < END:
                self.plan_registration(enterprise)
        for application in self.applications:
            self.plan_lifecycle(application)
        for activity in self.activities:
            self.plan_activity(activity)
        self.plan_budget()  # sized on the approvals and activities just planned
        self.steps.sort()

    def plan_registration(self, enterprise: DemoEnterprise) -> None:
        act = self.actions
        officer = self.people.get(enterprise.area, self.people["intake_1"])
        self.at(enterprise.first_date, lambda on: act.register(enterprise, officer, on), rank=1)
        if enterprise.split_into is not None:
            self.at(TU_LIEM_CORRECTED_ON, lambda on: act.correct_district(enterprise, on), rank=1)

    def plan_lifecycle(self, app: DemoApplication) -> None:
        """The dated steps of one application, from submission to how it ends."""
        rng, act = self.rng, self.actions
        day = app.submitted_on

        def then(low: int, high: int, step: Callable[[dt.date], None]) -> None:
            nonlocal day
            day += dt.timedelta(days=rng.randrange(low, high + 1))
            self.at(day, lambda on: None if app.stopped else step(on))

        def wait(low: int, high: int) -> None:
            nonlocal day
            day += dt.timedelta(days=rng.randrange(low, high + 1))

        def recovery(fraction: float, reason: str) -> None:
            then(5, 20, lambda on: act.order_recovery(app, on, fraction, reason))
            then(15, 60, lambda on: act.receive_recovery(app, on))

        self.at(day, lambda on: act.submit(app, on))
        outcome = app.outcome
        for _ in range(app.returns):
            if outcome == "withdrawn":
                then(7, 20, lambda on: act.return_(app, on))
                break
            if rng.random() < 0.25:  # returned after the appraisal found a gap
                then(10, 30, lambda on: act.appraise(app, on))
            then(5, 20, lambda on: act.return_(app, on))
            then(10, 40, lambda on: act.resubmit(app, on))
        if outcome == "withdrawn":
            then(10, 45, lambda on: act.withdraw(app, on))
            return
        if outcome == "rejected" and rng.random() < 0.5:
            then(7, 30, lambda on: act.reject(app, on, app.handler))  # screened out
            return
        then(15, 45, lambda on: act.appraise(app, on))
        if outcome == "rejected":
            then(7, 25, lambda on: act.reject(app, on, app.approver))  # refused after appraisal
            return
        then(10, 30, lambda on: act.approve(app, on))
        app.planned_approval = day
        if outcome == "cancelled_unsigned":
            reason = "Doanh nghiệp không ký hợp đồng trong thời hạn"
            then(30, 90, lambda on: act.cancel(app, on, reason))
            return
        then(7, 30, lambda on: act.sign_contract(app, on))
        advance = outcome in ("cancelled_after_advance", "acceptance_failed", "reversal")
        reverse_advance = outcome == "reversal" and rng.random() < 0.5
        if advance or rng.random() < 0.6:
            fraction = rng.uniform(0.3, 0.5)
            then(5, 20, lambda on: act.pay(app, on, "advance", fraction))
            if reverse_advance:
                reason = "Chuyển nhầm tài khoản thụ hưởng; lập lại chứng từ"
                then(2, 10, lambda on: act.reverse(app, on, reason))
                then(2, 10, lambda on: act.pay(app, on, "advance", fraction))
        if outcome == "cancelled_after_advance":
            reason = "Doanh nghiệp không đủ năng lực thực hiện; thanh lý hợp đồng"
            then(60, 200, lambda on: act.cancel(app, on, reason))
            recovery(1.0, "Thu hồi tạm ứng do hủy hợp đồng")
            return
        long_work = app.project == "DA3" or app.support_type == "geographical_indication"
        low, high = (200, 480) if long_work else (90, 300)
        if outcome == "acceptance_failed":
            then(low, high, lambda on: act.accept(app, on, "failed"))
            reason = "Nghiệm thu không đạt; thanh lý hợp đồng"
            then(10, 40, lambda on: act.cancel(app, on, reason))
            recovery(1.0, "Thu hồi kinh phí đã tạm ứng do nghiệm thu không đạt")
            return
        then(low, high, lambda on: act.accept(app, on, "passed"))
        share = rng.uniform(0.8, 0.98) if rng.random() < 0.12 else 1.0  # the cost came in lower
        then(10, 40, lambda on: act.pay(app, on, "payment", share))
        if outcome == "reversal" and not reverse_advance:
            reason = "Sai thông tin đơn vị thụ hưởng trên chứng từ; lập lại chứng từ"
            then(2, 10, lambda on: act.reverse(app, on, reason))
            then(2, 10, lambda on: act.pay(app, on, "payment", share))
        then(15, 60, lambda on: act.settle(app, on))
        if outcome == "recovered_after_settlement":
            wait(90, 300)  # the inspection comes months later
            recovery(
                rng.uniform(0.05, 0.2), "Thanh tra phát hiện chi phí không đúng định mức; thu hồi"
            )

    def plan_activity(self, activity: DemoActivity) -> None:
        rng, act = self.rng, self.actions
        year = activity.budget_year
        approved_on = draw.day(rng, dt.date(year, 2, 15), dt.date(year, 5, 15))
        self.at(approved_on, lambda on: act.approve_activity(activity, on))
        parts = rng.randint(1, 3)
        spend = rng.uniform(0.85, 1.0)
        first, last = approved_on + dt.timedelta(days=20), dt.date(year, 11, 20)
        days = sorted(draw.day(rng, first, last) for _ in range(parts))
        for part, day in enumerate(days):
            self.at(day, self.spend_step(activity, spend / parts, spend, part == parts - 1))
        completed_on = draw.day(rng, days[-1] + dt.timedelta(days=5), dt.date(year, 12, 28))
        self.at(completed_on, lambda on: act.complete_activity(activity, on))

    def spend_step(
        self, activity: DemoActivity, share: float, total_share: float, final: bool
    ) -> Callable[[dt.date], None]:
        return lambda on: self.actions.spend(activity, on, share, total_share, final)

    def assign_step(
        self, year: int, project: str, source: str, amount: int, decision_no: str, actor: Actor
    ) -> Callable[[dt.date], None]:
        return lambda on: self.actions.assign_budget(
            year, project, source, amount, decision_no, actor, on
        )

    def plan_budget(self) -> None:
        """Size each year's lines on what that year will approve: mostly, not always, enough."""
        rng = self.rng
        demand: Counter[tuple[int, str, str]] = Counter()
        for application in self.applications:
            if application.planned_approval is not None:
                year = application.planned_approval.year
                for source, amount in application.recommended.items():
                    demand[year, application.project, source] += amount
        for activity in self.activities:
            demand[activity.budget_year, activity.project, CITY] += activity.budget
        finance = self.people["finance_1"]
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            decided_on = dt.date(year - 1, 12, rng.randrange(18, 29))
            decision_no = f"{rng.randrange(5000, 7000)}/QĐ-UBND"
            for project in catalogue.PROJECTS:
                for source in catalogue.SOURCES:
                    need = demand[year, project, source]
                    floor = 200_000_000 if source == CITY else 100_000_000
                    factor = rng.uniform(0.85, 1.1) if source == CITY else rng.uniform(0.9, 1.2)
                    amount = draw.round_down(max(floor, need * factor), 10_000_000)
                    self.at(
                        decided_on,
                        self.assign_step(year, project, source, amount, decision_no, finance),
                        rank=0,
                    )
                    if source == CITY and rng.random() < 0.5:  # bổ sung dự toán, mid-year
                        extra = draw.round_down(
                            max(floor, need) * rng.uniform(0.08, 0.25), 10_000_000
                        )
                        on = draw.day(rng, dt.date(year, 6, 15), dt.date(year, 8, 15))
                        number = f"{rng.randrange(3000, 4500)}/QĐ-UBND"
                        self.at(
                            on, self.assign_step(year, project, source, extra, number, finance), 0
                        )
