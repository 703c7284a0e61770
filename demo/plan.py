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
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple, Protocol

from demo import draw, records
from demo.records import (
    DemoActivity,
    DemoApplication,
    DemoEnterprise,
    DemoEstimate,
    DemoNeed,
    Record,
)
from demo.reference import (
    ACTIVITIES_PER_SCALE,
    APPLICATIONS_PER_SCALE,
    CITY,
    COSTS,
    DISTRICT_FILED,
    END,
    ENTERPRISES_PER_SCALE,
    ESTIMATE_RETURN_RATE,
    FIRST_YEAR,
    LAST_YEAR,
    NEEDS_BY_SECTOR,
    NEEDS_DEFAULT,
    NEEDS_OF_PROJECT,
    REVISED_RULES,
    REVISED_RULES_DOCUMENT,
    REVISED_RULES_FROM,
    REVISED_RULES_SIGNED,
    RULES_DOCUMENT,
    RULES_PERCENT,
    RULES_SIGNED,
    START,
    TU_LIEM_CORRECTED_ON,
    rule_limit,
)
from ledger import catalogue
from ledger.access import Actor


class Step(NamedTuple):
    date: dt.date
    rank: int  # on one day: budget decisions, then registrations, then the rest
    seq: int
    run: Callable[[dt.date], None]
    #: run outside any batch's transaction (a draft, which reads the read models first)
    alone: bool = False


LineKey = tuple[int, str, str]  # budget year, project, channel
#: per line, what will be asked of it: (date, city budget, the record asking)
Asked = dict[LineKey, list[tuple[dt.date, int, Record]]]


class Actions(Protocol):
    """The steps a plan is made of, each carried out on its date ``on`` (:mod:`demo.actions`)."""

    def add_support_rule(
        self,
        support_type: str,
        percent: int,
        most: int,
        document_no: str,
        signed_on: dt.date,
        effective_from: dt.date,
    ) -> None: ...
    def report_needs(self, year: int, need: DemoNeed, on: dt.date) -> None: ...
    def draft_estimate(self, estimate: DemoEstimate, on: dt.date) -> None: ...
    def return_estimate(self, estimate: DemoEstimate, on: dt.date) -> None: ...
    def appraise_estimate(self, estimate: DemoEstimate, on: dt.date) -> None: ...
    def approve_estimate(self, estimate: DemoEstimate, on: dt.date) -> None: ...
    def supplement(self, key: LineKey, wanted: Callable[[dt.date], int], on: dt.date) -> None: ...
    def reduce(self, key: LineKey, wanted: Callable[[dt.date], int], on: dt.date) -> None: ...
    def close_year(self, year: int, on: dt.date) -> None: ...
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

    def at(
        self, date: dt.date, run: Callable[[dt.date], None], rank: int = 2, alone: bool = False
    ) -> bool:
        """Plan ``run`` for ``date``; what would fall after 2020 is left undone."""
        assert date >= START, date
        if date > END:
            return False
        self.steps.append(Step(date, rank, len(self.steps), run, alone))
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
        self.plan_rules()
        self.plan_budget_cycle()  # sized on the approvals and activities just planned
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
        activity.approved_on = approved_on
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

    # -- the budget cycle ---------------------------------------------------------------------

    def plan_rules(self) -> None:
        """Sở Tài chính's support rules (demo values) from the program's start, and one
        revision for a few types from 2016."""
        act = self.actions

        def rule(
            code: str, percent: int, most: int, doc: str, signed: dt.date, start: dt.date
        ) -> Callable[[dt.date], None]:
            return lambda on: act.add_support_rule(code, percent, most, doc, signed, start)

        for code in catalogue.SUPPORT_TYPES:
            most = COSTS[code][2]
            self.at(
                RULES_SIGNED,
                rule(code, RULES_PERCENT, most, RULES_DOCUMENT, RULES_SIGNED, RULES_SIGNED),
                rank=0,
            )
        for code, (percent, most) in REVISED_RULES.items():
            signed, start = REVISED_RULES_SIGNED, REVISED_RULES_FROM
            self.at(signed, rule(code, percent, most, REVISED_RULES_DOCUMENT, signed, start), 0)

    def demand(self) -> Asked:
        """What each line will be asked for: the approvals planned on it (city share within
        the rule in force then) and the activities, with their dates."""
        asked: Asked = defaultdict(list)
        for app in self.applications:
            on = app.planned_approval
            if on is not None:
                limit = rule_limit(app.support_type, on, app.total_cost) // 100_000 * 100_000
                city = min(app.recommended[CITY], limit)
                asked[on.year, app.project, app.channel].append((on, city, app))
        for activity in self.activities:
            assert activity.approved_on is not None
            key = (activity.budget_year, activity.project, activity.channel)
            asked[key].append((activity.approved_on, activity.budget, activity))
        return asked

    def plan_budget_cycle(self) -> None:
        """Every year: the estimate (needs, draft, appraisal, approval, which assigns the
        lines) before anything of the year is approved; mid-year supplements and last-quarter
        reductions where a line is short or has money to spare; the close in January."""
        asked = self.demand()
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            keys = sorted({k for k in asked if k[0] == year} | self.default_lines(year))
            self.plan_estimate(year, keys, asked)
            for key in keys:
                wanted = self.wanted(asked.get(key, []))
                act = self.actions
                mid_year = draw.day(self.rng, dt.date(year, 6, 15), dt.date(year, 8, 15))
                self.at(mid_year, self.line_step(act.supplement, key, wanted), rank=0)
                last_quarter = draw.day(self.rng, dt.date(year, 11, 1), dt.date(year, 11, 30))
                self.at(last_quarter, self.line_step(act.reduce, key, wanted), rank=0)
            if year < LAST_YEAR:
                closed_on = dt.date(year + 1, 1, self.rng.randrange(15, 26))
                self.at(closed_on, self.close_step(year), rank=0)

    @staticmethod
    def default_lines(year: int) -> set[LineKey]:
        return {(year, project, catalogue.DEFAULT_CHANNEL) for project in catalogue.PROJECTS}

    @staticmethod
    def wanted(planned: list[tuple[dt.date, int, Record]]) -> Callable[[dt.date], int]:
        """What a line will still be asked for from a date on (records not yet decided)."""

        def still(on: dt.date) -> int:
            return sum(amount for day, amount, record in planned if day >= on and pending(record))

        return still

    def line_step(
        self,
        run: Callable[[LineKey, Callable[[dt.date], int], dt.date], None],
        key: LineKey,
        wanted: Callable[[dt.date], int],
    ) -> Callable[[dt.date], None]:
        return lambda on: run(key, wanted, on)

    def close_step(self, year: int) -> Callable[[dt.date], None]:
        return lambda on: self.actions.close_year(year, on)

    def plan_estimate(
        self,
        year: int,
        keys: list[LineKey],
        asked: dict[LineKey, list[tuple[dt.date, int, Record]]],
    ) -> None:
        """The estimate of ``year``: the departments' needs in the last quarter before (for
        2011, from the decision's day), SKHCN's draft, sometimes returned and redrafted, Sở
        Tài chính's appraisal and the city's approval, before the year's first approval."""
        rng, act = self.rng, self.actions
        targets: dict[tuple[str, str], int] = {}
        for key in keys:
            _, project, channel = key
            need = sum(amount for _, amount, _ in asked.get(key, []))
            floor = 200_000_000 if channel == catalogue.DEFAULT_CHANNEL else 0
            amount = max(floor, need * rng.uniform(0.85, 1.1))
            targets[project, channel] = draw.round_down(amount, 10_000_000) if amount else 0
        estimate = DemoEstimate(year, targets)
        if year == FIRST_YEAR:
            needs_from, needs_to = START, START + dt.timedelta(days=4)
            drafted_on = draw.day(rng, dt.date(year, 1, 4), dt.date(year, 1, 7))
        else:
            needs_from, needs_to = dt.date(year - 1, 10, 1), dt.date(year - 1, 11, 10)
            drafted_on = draw.day(rng, dt.date(year - 1, 11, 12), dt.date(year - 1, 11, 18))
        forgotten = self.plan_needs(year, needs_from, needs_to)
        self.at(drafted_on, lambda on: act.draft_estimate(estimate, on), rank=0, alone=True)
        if rng.random() < ESTIMATE_RETURN_RATE:
            returned_on = drafted_on + dt.timedelta(days=rng.randrange(3, 6))
            self.at(returned_on, lambda on: act.return_estimate(estimate, on), rank=0)
            reported_on = returned_on + dt.timedelta(days=rng.randrange(1, 3))
            for late in forgotten:  # what the departments had left out, reported now
                self.at(reported_on, self.needs_step(year, late), rank=0)
            drafted_on = reported_on + dt.timedelta(days=rng.randrange(2, 5))
            self.at(drafted_on, lambda on: act.draft_estimate(estimate, on), rank=0, alone=True)
        appraised_on = drafted_on + dt.timedelta(days=rng.randrange(5, 11))
        self.at(appraised_on, lambda on: act.appraise_estimate(estimate, on), rank=0)
        approved_on = appraised_on + dt.timedelta(days=rng.randrange(7, 15))
        self.at(approved_on, lambda on: act.approve_estimate(estimate, on), rank=0)

    def needs_step(self, year: int, need: DemoNeed) -> Callable[[dt.date], None]:
        return lambda on: self.actions.report_needs(year, need, on)

    def plan_needs(self, year: int, start: dt.date, end: dt.date) -> list[DemoNeed]:
        """Each department's forecast of the applications it expects approved in ``year``
        and not yet filed when it reports: per project and support type, the number and the
        city budget asked, off by up to a third either way; a few are forgotten (returned)."""
        rng = self.rng
        reported_on = {
            department: draw.day(rng, start, end)
            for department in sorted({self.forecaster(a)[0] for a in self.applications})
        }
        groups: dict[tuple[str, str, str], list[DemoApplication]] = defaultdict(list)
        for app in self.applications:
            department, _ = self.forecaster(app)
            if (
                app.planned_approval is not None
                and app.planned_approval.year == year
                and app.submitted_on > reported_on[department]
            ):
                groups[department, app.project, app.support_type].append(app)
        forgotten: list[DemoNeed] = []
        for (department, project, support_type), apps in sorted(groups.items()):
            actor = self.forecaster(apps[0])[1]
            enterprises = max(1, round(len(apps) * rng.uniform(0.7, 1.3)))
            asked = sum(a.recommended[CITY] for a in apps)
            amount = draw.round_down(asked * rng.uniform(0.7, 1.3), 1_000_000)
            name = catalogue.SUPPORT_TYPES[support_type].name_vi
            note = f"Dự kiến {enterprises} doanh nghiệp đề nghị hỗ trợ {name} năm {year}"
            need = DemoNeed(department, actor, project, support_type, enterprises, amount, note)
            if rng.random() < 0.1:
                forgotten.append(need)
                continue
            self.at(reported_on[department], self.needs_step(year, need), rank=0)
        return forgotten

    def forecaster(self, app: DemoApplication) -> tuple[str, Actor]:
        """The department that forecasts ``app``'s needs, and its officer who reports them."""
        people = self.people
        if app.support_type in DISTRICT_FILED and app.enterprise.area in people:
            return app.enterprise.area, people[app.enterprise.area]
        department = NEEDS_OF_PROJECT.get(app.project) or NEEDS_BY_SECTOR.get(
            app.enterprise.sector, NEEDS_DEFAULT
        )
        if department == NEEDS_DEFAULT:
            return department, people["intake_2"]
        return department, people[department]


def pending(record: Record) -> bool:
    """Whether a record has not been decided yet (nor given up)."""
    if isinstance(record, DemoActivity):
        return record.id is None and not record.stopped
    return record.status in ("planned", "submitted", "returned", "appraised") and not record.stopped
