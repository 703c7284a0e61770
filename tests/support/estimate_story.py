"""A year of history to draft the estimate of the next from, written through the service.

In 2015, on the city-budget lines of DA1 and DA2 (science_recurrent):

* DA2 (iso_9001, the ``management_systems`` target): one application approved 60 M, paid in
  full, accepted (passed) and settled (1 enterprise achieved, at 60 M); one approved 60 M and
  paid 20 M (40 M unpaid); one rejected (asked 60 M); one submitted (asks 60 M) and one
  appraised (recommended 50 M): the pipeline;
* DA1: a department activity of SCT with a budget of 30 M, 10 M spent (20 M unpaid).

So for the draft of 2016: DA2's approval rate is 120 M approved of 180 M asked (2/3) and its
pipeline 110 M × 2/3 = 73,333,333 ₫; DA1's activities average 30 M a year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from ledger import commands as c
from ledger.access import SYSTEM, Actor
from ledger.service import Ledger

HISTORY = 2015
YEAR = 2016
CITY = 60_000_000
PIPELINE_DA2 = 73_333_333  # (60 M asked + 50 M recommended) × 120 M / 180 M, half up
UNPAID_DA2 = 40_000_000
ACTIVITIES_DA1 = 30_000_000
UNPAID_DA1 = 20_000_000


@dataclass(frozen=True)
class Cast:
    """The people of the story, by what they do."""

    officer: Actor  # SKHCN: submits, drafts
    approver: Actor  # SKHCN: approves applications
    sct: Actor  # an officer of Sở Công thương: reports needs
    district: Actor  # an officer of a district: reports needs, may not draft
    finance: Actor
    leader: Actor
    tokens: dict[str, str]


def cast(ledger: Ledger) -> Cast:
    made = {}
    for role, name, kind, department in (
        ("officer", "Nguyễn Văn An", "officer", "SKHCN"),
        ("approver", "Trần Thị Bình", "officer", "SKHCN"),
        ("sct", "Lý Thị Sáu", "officer", "SCT"),
        ("district", "Phạm Thị Dung", "officer", "QH-CAUGIAY"),
        ("finance", "Hoàng Văn Em", "finance", "STC"),
        ("leader", "Vũ Văn Giang", "leader", "UBND"),
    ):
        granted = ledger.grant_access(
            c.GrantAccess(name=name, role=kind, department=department), SYSTEM
        )
        made[role] = (ledger.authenticate(granted.token), granted.token)
    return Cast(
        **{role: actor for role, (actor, _) in made.items()},
        tokens={role: token for role, (_, token) in made.items()},
    )


def day(month: int, day: int, year: int = HISTORY) -> dt.date:
    return dt.date(year, month, day)


def history(ledger: Ledger, people: Cast) -> None:
    """Write the story's 2015 (see the module's docstring)."""
    officer, approver, finance = people.officer, people.approver, people.finance
    for project in ("DA1", "DA2"):
        ledger.assign_budget(
            c.AssignBudget(
                budget_year=HISTORY,
                project=project,
                source="city_budget",
                amount=1_000_000_000,
                decision_no=f"QĐ-{project}-2015",
                decided_on=day(1, 5),
            ),
            finance,
        )
    funding = c.Funding(city_budget=CITY, enterprise=40_000_000, other=0)

    def submit(n: int) -> UUID:
        enterprise = ledger.register_enterprise(
            c.RegisterEnterprise(
                tax_code=f"01000000{n:02d}",
                name=f"Công ty {n}",
                district="QH-HOANKIEM",
                sector="industry",
                size="small",
            ),
            officer,
        ).id
        return ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=enterprise,
                dossier_no=f"HS-{n}",
                project="DA2",
                support_type="iso_9001",
                title="Áp dụng ISO 9001",
                total_cost=100_000_000,
                requested=funding,
                submitted_on=day(2, 1),
            ),
            officer,
        ).id

    def approve(app: UUID, n: int) -> None:
        ledger.appraise_application(
            c.AppraiseApplication(application_id=app, appraised_on=day(2, 10), recommended=funding),
            officer,
        )
        ledger.approve_application(
            c.ApproveApplication(
                application_id=app,
                decision_no=f"QĐ-HS-{n}",
                decided_on=day(3, 1),
                budget_year=HISTORY,
                approved=funding,
            ),
            approver,
        )
        ledger.sign_contract(
            c.SignContract(application_id=app, contract_no=f"HĐ-{n}", signed_on=day(3, 5)), officer
        )

    def pay(app: UUID, amount: int, voucher: str) -> None:
        ledger.record_disbursement(
            c.RecordDisbursement(
                application_id=app,
                paid_on=day(4, 1),
                amount=amount,
                voucher_no=voucher,
                kind="payment",
            ),
            officer,
        )

    done = submit(1)
    approve(done, 1)
    pay(done, CITY, "PC-1")
    ledger.record_acceptance(
        c.RecordAcceptance(application_id=done, accepted_on=day(9, 1), result="passed"), officer
    )
    ledger.settle_application(
        c.SettleApplication(application_id=done, settled_on=day(9, 15)), officer
    )
    half = submit(2)
    approve(half, 2)
    pay(half, 20_000_000, "PC-2")
    rejected = submit(3)
    ledger.reject_application(
        c.RejectApplication(application_id=rejected, decided_on=day(2, 20), reason="Thiếu hồ sơ"),
        officer,
    )
    submit(4)
    appraised = submit(5)
    ledger.appraise_application(
        c.AppraiseApplication(
            application_id=appraised,
            appraised_on=day(5, 10),
            recommended=c.Funding(city_budget=50_000_000, enterprise=40_000_000, other=0),
        ),
        officer,
    )
    activity = ledger.approve_activity(
        c.ApproveActivity(
            department="SCT",
            project="DA1",
            kind="training",
            title="Tập huấn tiêu chuẩn",
            budget_year=HISTORY,
            budget=30_000_000,
            decision_no="QĐ-HĐ-1",
            approved_on=day(3, 1),
        ),
        officer,
    ).id
    ledger.record_activity_spending(
        c.RecordActivitySpending(
            activity_id=activity, spent_on=day(4, 1), amount=10_000_000, voucher_no="PC-HĐ-1"
        ),
        officer,
    )


def appraise(ledger: Ledger, people: Cast, *more: c.EstimateLine) -> None:
    """Sở Tài chính appraises the year's draft: DA1's city budget cut to 25,000,000 with its
    reason, and the lines ``more``."""
    ledger.appraise_estimate(
        c.AppraiseEstimate(
            budget_year=YEAR,
            appraised_on=dt.date(2015, 10, 1),
            lines=[
                c.EstimateLine(
                    project="DA1",
                    source="city_budget",
                    amount=25_000_000,
                    reason="Giảm theo khả năng ngân sách",
                ),
                *more,
            ],
        ),
        people.finance,
    )


def estimate_cycle(ledger: Ledger, people: Cast) -> int:
    """The estimate of ``YEAR``: needs from two departments, a draft returned, a second
    draft appraised (DA1 cut, with its reason) and approved; the position of the log at the
    second draft."""
    for project, support_type, amount, who in (
        ("DA2", "iso_9001", 200_000_000, people.sct),
        ("DA4", "patent", 100_000_000, people.district),
    ):
        ledger.report_needs(
            c.ReportNeeds(
                budget_year=YEAR,
                project=project,
                support_type=support_type,
                enterprises=2,
                amount=amount,
                note="Nhu cầu <b>đăng ký</b>",
            ),
            who,
        )
    draft = c.DraftEstimate(budget_year=YEAR, prepared_on=dt.date(2015, 7, 1))
    ledger.draft_estimate(draft, people.officer)
    ledger.return_estimate(
        c.ReturnEstimate(budget_year=YEAR, returned_on=dt.date(2015, 8, 1), reason="Thiếu DA3"),
        people.finance,
    )
    redrafted = ledger.draft_estimate(
        c.DraftEstimate(budget_year=YEAR, prepared_on=dt.date(2015, 8, 15)), people.officer
    ).position
    appraise(ledger, people)
    ledger.approve_estimate(
        c.ApproveEstimate(
            budget_year=YEAR, decision_no="QĐ-UBND-2016", decided_on=dt.date(2015, 12, 20)
        ),
        people.leader,
    )
    return redrafted
