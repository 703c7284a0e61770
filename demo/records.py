"""The demo's records, drawn before anything is written: the enterprises (names, tax codes,
districts), their support applications (what each asks for, who handles it, how it will
end) and the activities the departments run themselves.

Each is a plain object of the demo's own, not a ledger aggregate: the planner
(:mod:`demo.plan`) dates its steps, and as they are carried out (:mod:`demo.actions`) it
keeps what the ledger gave back (its id) and what has happened to it so far (status, money).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from demo import draw
from demo.reference import (
    ACTIVITY_CHANNELS,
    ACTIVITY_MIX,
    ACTIVITY_TITLES,
    ACTIVITY_WEIGHTS,
    CITY,
    COSTS,
    CRAFT_VILLAGES,
    DISTRICT_FILED,
    DISTRICT_WEIGHTS,
    END,
    FUND_SUPPORT_TYPES,
    HA_TAY,
    LAST_YEAR,
    OUTCOME_RATES,
    PROJECT_TOPICS,
    PROPER_NAMES,
    RETURN_RATE,
    SECTOR_WEIGHTS,
    SECTOR_WORDS,
    SIZE_ACTIVITY,
    SIZE_WEIGHTS,
    SUPPORT_MIX,
    TITLES,
    TU_LIEM_SPLIT,
    YEAR_WEIGHTS,
    rule_limit,
)
from ledger import catalogue
from ledger.access import SYSTEM, Actor

TAX_CODE_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


@dataclass(eq=False)
class DemoEnterprise:
    tax_code: str
    name: str
    short: str
    area: str  # a district code, or "TULIEM" until the dates are known
    sector: str
    size: str
    district: str = ""
    split_into: str | None = None  # Từ Liêm firms registered before 2014: the new district
    first_date: dt.date = END
    id: UUID | None = None


@dataclass(eq=False)
class DemoApplication:
    enterprise: DemoEnterprise
    project: str
    support_type: str
    title: str
    total_cost: int
    requested: dict[str, int]
    recommended: dict[str, int]
    submitted_on: dt.date
    outcome: str = "completed"
    returns: int = 0
    submitter: Actor = SYSTEM
    handler: Actor = SYSTEM
    appraiser: Actor = SYSTEM
    approver: Actor = SYSTEM
    id: UUID | None = None
    status: str = "planned"
    stopped: bool = False
    approved: dict[str, int] = field(default_factory=dict)
    budget_year: int = 0
    # [disbursement id, amount, reversed]
    disbursements: list[list[Any]] = field(default_factory=list)
    recovery_orders: list[tuple[UUID, int]] = field(default_factory=list)
    recovery_ordered: int = 0
    recovered: int = 0
    planned_approval: dt.date | None = None
    #: the city-budget channel it is approved on, and the year whose line it draws on now
    channel: str = catalogue.DEFAULT_CHANNEL
    drawing_year: int = 0
    #: net money paid from each year's line
    paid_by_year: dict[int, int] = field(default_factory=dict)

    @property
    def approved_city(self) -> int:
        return self.approved.get(CITY, 0)

    @property
    def disbursed(self) -> int:
        return sum(amount for _, amount, reversed_ in self.disbursements if not reversed_)

    @property
    def net_out(self) -> int:
        return self.disbursed - self.recovered

    def paid(self, amount: int) -> None:
        """Money paid (or, negative, taken back) on the line it draws on now."""
        year = self.drawing_year
        self.paid_by_year[year] = self.paid_by_year.get(year, 0) + amount

    def recovery_lines(self, amount: int) -> list[tuple[int, int]]:
        """The lines a recovery goes back to once the application is closed (as the ledger
        places it): those it was paid from, the drawing line first, then the years before."""
        parts: dict[int, int] = {}
        left = amount
        for year in sorted((y for y in self.paid_by_year if y <= self.drawing_year), reverse=True):
            part = min(left, max(self.paid_by_year[year], 0))
            if part > 0:
                parts[year] = part
                left -= part
        if left > 0:
            parts[self.drawing_year] = parts.get(self.drawing_year, 0) + left
        for year, part in parts.items():
            self.paid_by_year[year] = self.paid_by_year.get(year, 0) - part
        return sorted(parts.items(), reverse=True)


@dataclass(eq=False)
class DemoActivity:
    department: str
    project: str
    kind: str
    title: str
    budget_year: int
    budget: int
    actor: Actor
    id: UUID | None = None
    approved_on: dt.date | None = None
    spent: int = 0
    stopped: bool = False
    channel: str = catalogue.DEFAULT_CHANNEL
    drawing_year: int = 0


@dataclass(eq=False)
class DemoNeed:
    """A department's forecast of one support type's applications for a year's estimate."""

    department: str
    actor: Actor
    project: str
    support_type: str
    enterprises: int
    amount: int
    note: str


@dataclass(eq=False)
class DemoEstimate:
    """The annual estimate of one budget year as the demo writes it: the lines Sở Tài chính
    finds right (``targets``, by project and channel), each draft's lines as the ledger
    drafted them, the appraised lines."""

    budget_year: int
    targets: dict[tuple[str, str], int]
    drafts: list[dict[tuple[str, str], int]] = field(default_factory=list)
    appraised: dict[tuple[str, str], int] = field(default_factory=dict)
    decision_no: str = ""


Record = DemoApplication | DemoActivity


def tax_code_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a Vietnamese tax code, or ``None`` if no code is issued for these.

    N10 = 10 − (31·N1 + 29·N2 + 23·N3 + 19·N4 + 17·N5 + 13·N6 + 7·N7 + 5·N8 + 3·N9) mod 11;
    a result of 10 is not issued.
    """
    total = sum(w * int(d) for w, d in zip(TAX_CODE_WEIGHTS, first_nine, strict=True))
    digit = 10 - total % 11
    return None if digit == 10 else digit


# -- enterprises ---------------------------------------------------------------------------


def enterprises(rng: random.Random, count: int) -> list[DemoEnterprise]:
    """``count`` enterprises of every sector and size, each with a unique name and tax code;
    where they are is settled by :func:`place_enterprises` once their applications are."""
    drawn: list[DemoEnterprise] = []
    used_codes: set[str] = set()
    used_names: set[str] = set()
    for _ in range(count):
        sector = draw.weighted(rng, SECTOR_WEIGHTS)
        size = draw.weighted(rng, SIZE_WEIGHTS)
        if sector == "craft_village":
            product, village, area = rng.choice(CRAFT_VILLAGES)
            size = rng.choice(("micro", "small"))
            form = rng.choice(("Hợp tác xã", "Hợp tác xã", "Công ty TNHH"))
            short = f"{product} {village}"
            if form != "Hợp tác xã":
                short = f"{short} {rng.choice(PROPER_NAMES)}"
        else:
            area = draw.weighted(rng, DISTRICT_WEIGHTS)
            form = rng.choice(
                {
                    "micro": ("Doanh nghiệp tư nhân", "Công ty TNHH"),
                    "small": ("Công ty TNHH", "Công ty TNHH", "Công ty Cổ phần"),
                    "medium": ("Công ty Cổ phần", "Công ty TNHH"),
                    "large": ("Công ty Cổ phần", "Tổng công ty"),
                }[size]
            )
            short = f"{rng.choice(SECTOR_WORDS[sector])} {rng.choice(PROPER_NAMES)}"
        name = f"{form} {short}"
        suffix = 2
        while name in used_names:
            name = f"{form} {short} {suffix}"
            suffix += 1
        used_names.add(name)
        code = tax_code(rng, area, used_codes)
        drawn.append(DemoEnterprise(code, name, short, area, sector, size))
    return drawn


def tax_code(rng: random.Random, area: str, used: set[str]) -> str:
    """A valid tax code not in ``used`` (and added to it): Hà Tây's older ones start 05."""
    province = "05" if area in HA_TAY and rng.random() < 0.5 else "01"
    while True:
        first_nine = province + f"{rng.randrange(10**7):07d}"
        digit = tax_code_check_digit(first_nine)
        if digit is None:
            continue
        code = f"{first_nine}{digit}"
        if rng.random() < 0.05:  # a branch (chi nhánh) of a registered company
            code += f"-{rng.randrange(1, 20):03d}"
        if code not in used:
            used.add(code)
            return code


def place_enterprises(rng: random.Random, firms: list[DemoEnterprise]) -> None:
    """Từ Liêm firms: the old huyện before 2014, one of the two new quận after."""
    for enterprise in firms:
        if enterprise.area != "TULIEM":
            enterprise.district = enterprise.area
            continue
        new = rng.choice(("QH-BACTULIEM", "QH-NAMTULIEM"))
        if enterprise.first_date < TU_LIEM_SPLIT:
            enterprise.district, enterprise.split_into = "QH-TULIEM", new
        else:
            enterprise.district = new


# -- applications --------------------------------------------------------------------------


def applications(
    rng: random.Random, count: int, firms: list[DemoEnterprise]
) -> list[DemoApplication]:
    """``count`` applications of ``firms`` over the years, every support type at least once
    (when there are enough); each firm's ``first_date`` becomes its first submission's."""
    drawn: list[DemoApplication] = []
    # Every support type at least once (when there are enough applications), then the mix.
    forced = rng.sample(list(SUPPORT_MIX), len(SUPPORT_MIX)) if count >= len(SUPPORT_MIX) else []
    unused = list(firms)
    rng.shuffle(unused)
    size_weights = [SIZE_ACTIVITY[e.size] for e in firms]
    years = list(YEAR_WEIGHTS)
    year_weights = list(YEAR_WEIGHTS.values())
    for index in range(count):
        if index < len(forced):
            support_type = forced[index]
            sectors = SUPPORT_MIX[support_type][1]
            fits = [e for e in unused if sectors is None or e.sector in sectors]
            if fits:
                enterprise = fits[0]
                unused.remove(enterprise)
            else:
                pool = [e for e in firms if sectors is None or e.sector in sectors]
                enterprise = rng.choice(pool or firms)
        else:
            enterprise = unused.pop() if unused else rng.choices(firms, weights=size_weights)[0]
            fitting = {
                code: weight
                for code, (weight, sectors) in SUPPORT_MIX.items()
                if sectors is None or enterprise.sector in sectors
            }
            support_type = draw.weighted(rng, fitting)
        year = rng.choices(years, weights=year_weights)[0]
        submitted_on = draw.day(rng, dt.date(year, 2, 20), dt.date(year, 11, 15))
        drawn.append(application(rng, enterprise, support_type, submitted_on))
        enterprise.first_date = min(enterprise.first_date, submitted_on)
    for support_type in FUND_SUPPORT_TYPES:  # each channel in use, even in a small demo
        of_type = [a for a in drawn if a.support_type == support_type]
        if of_type and all(a.channel == catalogue.DEFAULT_CHANNEL for a in of_type):
            of_type[0].channel = "science_fund"
    return drawn


def application(
    rng: random.Random, enterprise: DemoEnterprise, support_type: str, submitted_on: dt.date
) -> DemoApplication:
    """One application: its project, title, cost, the split it asks for and the one its
    appraisal will recommend."""
    project = catalogue.SUPPORT_TYPES[support_type].project or rng.choice(list(catalogue.PROJECTS))
    low, high, _ = COSTS[support_type]
    total = draw.money(rng, low, high)
    # asked within the support rule in force when it is filed
    cap = rule_limit(support_type, submitted_on, total) // 100_000 * 100_000
    city = min(cap, draw.round_down(total * rng.uniform(0.3, 0.5)))
    other = draw.round_down(total * rng.uniform(0.05, 0.2)) if rng.random() < 0.15 else 0
    requested = {CITY: city, "enterprise": total - city - other, "other": other}
    recommended = dict(requested)
    if rng.random() < 0.35:  # the appraisal trims the city share
        recommended[CITY] = draw.round_down(city * rng.uniform(0.7, 0.95))
    edition = "2008" if submitted_on.year < 2017 else "2015"
    title = TITLES[support_type].format(e=enterprise.short, v=edition)
    drawn = DemoApplication(
        enterprise, project, support_type, title, total, requested, recommended, submitted_on
    )
    if rng.random() < FUND_SUPPORT_TYPES.get(support_type, 0):
        drawn.channel = "science_fund"
    return drawn


def assign_outcomes(rng: random.Random, apps: list[DemoApplication]) -> None:
    """How each application ends (``OUTCOME_RATES``) and how often it is returned first."""
    # Special endings go to applications early enough to reach them before 2021.
    early = [a for a in apps if a.submitted_on.year < LAST_YEAR]
    rng.shuffle(early)
    for outcome, rate in OUTCOME_RATES.items():
        wanted = round(len(apps) * rate) or (1 if len(apps) >= 20 else 0)
        for application in early[:wanted]:
            application.outcome = outcome
        early = early[wanted:]
    wanted = round(len(apps) * RETURN_RATE) or (1 if len(apps) >= 10 else 0)
    for application in rng.sample(apps, min(wanted, len(apps))):
        application.returns = 2 if rng.random() < 0.2 else 1


def assign_people(
    rng: random.Random, apps: list[DemoApplication], people: dict[str, Actor]
) -> None:
    """Who submits, handles, appraises and approves each application: never one person
    approving what they submitted or appraised; district committees file some themselves."""
    p = people
    intake = [p["intake_1"], p["intake_2"], p["intake_3"]]
    appraisers = [p["appraiser_1"], p["appraiser_2"]]
    approvers = [p["approver_1"], p["approver_2"]]
    for application in apps:
        application.handler = application.submitter = rng.choice(intake)
        district_officer = p.get(application.enterprise.area)
        if district_officer is not None and application.support_type in DISTRICT_FILED:
            application.submitter = district_officer
        application.appraiser = rng.choice(appraisers)
        application.approver = rng.choice(approvers)


# -- activities ----------------------------------------------------------------------------


def activities(rng: random.Random, count: int, people: dict[str, Actor]) -> list[DemoActivity]:
    """``count`` activities, spread evenly over the years: kind, project, department, title
    and budget."""
    drawn: list[DemoActivity] = []
    years = list(YEAR_WEIGHTS)
    for index in range(count):
        kind = draw.weighted(rng, ACTIVITY_WEIGHTS)
        projects, departments, low, high = ACTIVITY_MIX[kind]
        year = years[index % len(years)]
        project = rng.choice(projects)
        department = rng.choice(departments)
        actor = people.get(department, people["intake_1"])
        title = ACTIVITY_TITLES[kind].format(
            topic=PROJECT_TOPICS[project], year=year, dept=catalogue.DEPARTMENTS[department].name_vi
        )
        budget = draw.money(rng, low, high, 1_000_000)
        activity = DemoActivity(department, project, kind, title, year, budget, actor)
        activity.channel = ACTIVITY_CHANNELS.get(kind, catalogue.DEFAULT_CHANNEL)
        drawn.append(activity)
    return drawn
