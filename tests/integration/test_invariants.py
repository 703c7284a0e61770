"""ARCHITECTURE.md "Invariants" 1–5 and 8, each with its API error code and the proof that a
refused command wrote nothing (``refused`` compares position, event count, histories,
application states and every budget line before and after); and the arithmetic of a budget
line through advances, payments, reversals, cancellation, settlement and recoveries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pydantic
import pytest

from api.problems import ALL_ERRORS, status_of
from ledger import commands as c
from ledger.access import PERMISSIONS, SYSTEM, Actor, require
from ledger.errors import (
    Duplicate,
    ExceedsApproved,
    ExceedsRequested,
    Forbidden,
    FundingSplitMismatch,
    InsufficientBudget,
    InvalidTransition,
    NotFound,
    SeparationOfDuties,
    Unauthorized,
    ValidationFailed,
)
from ledger.service import Ledger, Written
from tests.support.names import ref
from tests.support.people import People
from tests.support.refusals import API_CODES, refused
from tests.support.scenario import YEAR, D, funding
from tests.support.story import CITY, ENTERPRISE, Story, figures, line, status


def test_every_refusal_carries_the_code_and_status_api_md_gives_it() -> None:
    assert {error: (error.code, status_of(error)) for error in ALL_ERRORS} == API_CODES


# -- 1. amounts are positive integers; a funding split adds up to its total ------------------


def test_a_request_whose_sources_do_not_add_up_to_the_total_cost_is_refused(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    enterprise_id = story.enterprise()

    def submit(total_cost: int) -> Written:
        return ledger.submit_application(
            c.SubmitApplication(
                enterprise_id=enterprise_id,
                dossier_no="HS-2015-001",
                project="DA2",
                support_type="iso_9001",
                title="Áp dụng ISO 9001",
                total_cost=total_cost,
                requested=funding(60_000_000, 30_000_000, 5_000_000),
                submitted_on=D(YEAR, 2, 1),
            ),
            people.officer,
        )

    error = refused(ledger, FundingSplitMismatch, lambda: submit(100_000_000))

    assert [problem.loc for problem in error.errors] == [("body", "requested")]
    # Nothing was claimed either: the same dossier number is free for the corrected request.
    app_id = submit(95_000_000).id
    assert ledger.get_application(app_id)["dossier_no"] == "HS-2015-001"


def _payment(amount: Any) -> object:
    return c.RecordDisbursement(
        application_id=uuid4(),
        paid_on=D(YEAR, 4, 1),
        amount=amount,
        voucher_no="PC-1",
        kind="payment",
    )


def _submission(total_cost: Any) -> object:
    return c.SubmitApplication(
        enterprise_id=uuid4(),
        dossier_no="HS-1",
        project="DA2",
        support_type="iso_9001",
        title="ISO",
        total_cost=total_cost,
        requested=funding(0),
        submitted_on=D(YEAR, 2, 1),
    )


def _budget(amount: Any) -> object:
    return c.AssignBudget(
        budget_year=YEAR,
        project="DA2",
        source="city_budget",
        amount=amount,
        decision_no="QĐ-1",
        decided_on=D(YEAR, 1, 5),
    )


def _recovery(amount: Any) -> object:
    return c.OrderRecovery(
        application_id=uuid4(), ordered_on=D(YEAR, 11, 1), amount=amount, reason="Kiểm toán"
    )


def _activity(budget: Any) -> object:
    return c.ApproveActivity(
        department="SKHCN",
        project="DA2",
        kind="training",
        title="Tập huấn",
        budget_year=YEAR,
        budget=budget,
        decision_no="QĐ-1",
        approved_on=D(YEAR, 1, 20),
    )


def _spending(amount: Any) -> object:
    return c.RecordActivitySpending(
        activity_id=uuid4(), spent_on=D(YEAR, 5, 1), amount=amount, voucher_no="PC-1"
    )


BAD_MONEY: list[Any] = [
    pytest.param(lambda: _payment(0), "amount", id="payment-of-zero"),
    pytest.param(lambda: _payment(-5_000_000), "amount", id="negative-payment"),
    pytest.param(lambda: _payment(1_500_000.5), "amount", id="payment-with-a-fraction"),
    pytest.param(lambda: _payment(1_000_000.0), "amount", id="payment-as-a-float"),
    pytest.param(lambda: _payment("1000000"), "amount", id="payment-as-text"),
    pytest.param(lambda: funding(-1, 40_000_000), "city_budget", id="negative-share"),
    pytest.param(lambda: _submission(0), "total_cost", id="total-cost-of-zero"),
    pytest.param(lambda: _budget(0), "amount", id="budget-of-zero"),
    pytest.param(lambda: _recovery(-1), "amount", id="negative-recovery"),
    pytest.param(lambda: _activity(0), "budget", id="activity-budget-of-zero"),
    pytest.param(lambda: _spending(0), "amount", id="spending-of-zero"),
]


@pytest.mark.parametrize(("build", "field"), BAD_MONEY)
def test_money_that_is_not_a_positive_integer_is_refused_by_the_command(
    build: Callable[[], object], field: str
) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        build()
    assert [error["loc"][-1] for error in caught.value.errors()] == [field]


def test_an_approval_or_a_recommendation_of_nothing_is_refused(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    submitted = story.submitted(CITY, ENTERPRISE)
    appraised = story.appraised(CITY, ENTERPRISE)

    refused(ledger, ValidationFailed, lambda: story.appraise(submitted, 0, 0), submitted)
    refused(
        ledger,
        ValidationFailed,
        lambda: story.approve_by(people.approver, appraised, 0, 0),
        appraised,
    )


# -- 2. approved ≤ requested per source; disbursed − recovered ≤ approved city share -------


@pytest.mark.parametrize(
    "approved",
    [
        pytest.param((CITY + 1, ENTERPRISE, 0), id="city-budget-above"),
        pytest.param((CITY - 20_000_000, ENTERPRISE + 1, 0), id="enterprise-above-total-below"),
        pytest.param((CITY, ENTERPRISE - 1_000_000, 1_000_000), id="other-source-not-requested"),
    ],
)
def test_an_approval_above_the_request_of_any_one_source_is_refused(
    ledger: Ledger, people: People, approved: tuple[int, int, int]
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.appraised(CITY, ENTERPRISE)

    refused(
        ledger,
        ExceedsRequested,
        lambda: story.approve_by(people.approver, app_id, *approved),
        app_id,
    )

    assert status(ledger, app_id) == "appraised"


def test_a_recommendation_above_the_request_is_refused(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    app_id = story.submitted(CITY, ENTERPRISE)

    refused(ledger, ExceedsRequested, lambda: story.appraise(app_id, CITY + 1, ENTERPRISE), app_id)


def test_a_payment_above_the_approved_share_is_refused(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)

    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, CITY + 1), app_id)


def test_payments_may_reach_but_never_pass_the_approved_share(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    # An advance and a payment use up the approved city-budget share exactly.
    story.pay(app_id, 20_000_000, "advance")
    story.pay(app_id, 40_000_000)
    assert ledger.get_application(app_id)["disbursed"] == CITY
    # Not one đồng more, whatever its kind.
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1), app_id)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1, "advance"), app_id)


def test_a_reversed_payment_no_longer_counts_against_the_approved_share(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    # The whole share is paid by mistake in one payment, then reversed.
    wrong = story.pay(app_id, CITY)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1), app_id)
    story.reverse(app_id, wrong)
    assert ledger.get_application(app_id)["disbursed"] == 0
    # The share can be paid again, and again not beyond it.
    story.pay(app_id, CITY)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1), app_id)
    assert line(ledger)["disbursed"] == CITY


def test_a_received_recovery_makes_room_for_payment_but_an_ordered_one_does_not(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    story.pay(app_id, CITY)
    # Ordered, not yet paid back: still no room.
    recovery_id = story.order_recovery(app_id, 10_000_000)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1), app_id)
    # Paid back: exactly that much room.
    story.receive_recovery(app_id, recovery_id)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 10_000_001), app_id)
    story.pay(app_id, 10_000_000)
    refused(ledger, ExceedsApproved, lambda: story.pay(app_id, 1), app_id)
    state = ledger.get_application(app_id)
    assert state["disbursed"] - state["recovered"] == CITY


def test_a_recovery_above_what_was_paid_out_is_refused(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    story.pay(app_id, 20_000_000, "advance")

    refused(ledger, ExceedsApproved, lambda: story.order_recovery(app_id, 20_000_001), app_id)
    story.order_recovery(app_id, 15_000_000)
    refused(ledger, ExceedsApproved, lambda: story.order_recovery(app_id, 5_000_001), app_id)


def test_spending_above_an_activitys_budget_is_refused(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    activity_id = story.activity(budget=30_000_000)
    story.spend(activity_id, 25_000_000)

    refused(ledger, ExceedsApproved, lambda: story.spend(activity_id, 5_000_001))

    assert ledger.get_activity(activity_id)["spent"] == 25_000_000


# -- 3. city-budget approvals fit the budget line -------------------------------------------------


def test_an_approval_above_the_uncommitted_money_of_the_line_is_refused(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.approved(60_000_000, 0)
    app_id = story.appraised(40_000_001, 0)

    error = refused(
        ledger,
        InsufficientBudget,
        lambda: story.approve_by(people.approver, app_id, 40_000_001, 0),
        app_id,
    )

    assert "40.000.000 ₫" in error.detail
    assert status(ledger, app_id) == "appraised"
    assert figures(ledger)["committed"] == 60_000_000


def test_an_approval_may_commit_the_last_dong_of_the_line(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    story.approved(60_000_000, 0)
    story.approved(40_000_000, 0)

    assert figures(ledger) == {
        "assigned": 100_000_000,
        "committed": 100_000_000,
        "disbursed": 0,
        "recovered": 0,
        "available": 0,
    }
    app_id = story.appraised(1, 0)
    refused(ledger, InsufficientBudget, lambda: story.approve_by(people.approver, app_id, 1, 0))


@pytest.mark.parametrize(
    "assigned",
    [
        pytest.param(None, id="no-line-at-all"),
        pytest.param({"year": YEAR + 1}, id="a-line-of-another-year"),
        pytest.param({"project": "DA3"}, id="a-line-of-another-project"),
        pytest.param({"channel": "science_fund"}, id="a-line-of-another-channel"),
    ],
)
def test_an_approval_without_a_city_budget_line_for_its_year_and_project_is_refused(
    ledger: Ledger, people: People, assigned: dict[str, Any] | None
) -> None:
    story = Story(ledger, people)
    if assigned is not None:
        story.budget(1_000_000_000, **assigned)
    app_id = story.appraised(CITY, ENTERPRISE)

    refused(ledger, InsufficientBudget, lambda: story.approve_by(people.approver, app_id), app_id)


def test_an_approval_with_no_city_budget_share_needs_no_budget_line(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    app_id = story.appraised(CITY, ENTERPRISE)

    story.approve_by(people.approver, app_id, 0, ENTERPRISE)

    assert ledger.get_application(app_id)["approved"] == funding(0, ENTERPRISE).as_dict()
    assert ledger.get_budget_lines() == []


def test_an_adjustment_of_the_line_makes_room_for_an_approval(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(50_000_000)
    app_id = story.appraised(CITY, ENTERPRISE)
    refused(ledger, InsufficientBudget, lambda: story.approve_by(people.approver, app_id), app_id)
    # A second assignment to the same line adds to it.
    story.budget(10_000_000)

    story.approve_by(people.approver, app_id)

    assert figures(ledger)["assigned"] == 60_000_000
    assert figures(ledger)["available"] == 0


def test_cancelling_returns_the_unpaid_commitment_to_the_line(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    # 80,000,000 approved, 30,000,000 of it paid.
    first = story.contracted(80_000_000, 0)
    story.pay(first, 30_000_000, "advance")
    second = story.appraised(70_000_000, 0)
    refused(
        ledger, InsufficientBudget, lambda: story.approve_by(people.approver, second, 70_000_000, 0)
    )
    # Cancelling the first releases the 50,000,000 never paid.
    story.cancel(first)
    assert figures(ledger)["committed"] == 30_000_000
    # ... which the second approval may now use.
    story.approve_by(people.approver, second, 70_000_000, 0)
    assert figures(ledger)["available"] == 0


def test_settling_returns_the_unpaid_commitment_to_the_line(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)

    story.settled(city=60_000_000, paid=45_000_000)

    assert figures(ledger) == {
        "assigned": 100_000_000,
        "committed": 45_000_000,
        "disbursed": 45_000_000,
        "recovered": 0,
        "available": 55_000_000,
    }


def test_an_activity_approval_commits_the_line_and_must_fit_it(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(100_000_000)
    # The activity takes 70,000,000 of the line ...
    story.activity(budget=70_000_000)
    assert figures(ledger)["available"] == 30_000_000
    # ... so neither another activity nor an application may take more than what is left.
    refused(ledger, InsufficientBudget, lambda: story.activity(budget=30_000_001))
    app_id = story.appraised(30_000_001, 0)
    refused(
        ledger, InsufficientBudget, lambda: story.approve_by(people.approver, app_id, 30_000_001, 0)
    )
    # An activity of a year without a line is refused as well.
    refused(ledger, InsufficientBudget, lambda: story.activity(budget=1, year=YEAR + 1))


# -- 4. lifecycle order --------------------------------------------------------------------------


@pytest.mark.parametrize("before", ["submitted", "appraised", "approved"])
def test_no_payment_is_made_before_approval_and_contract(
    ledger: Ledger, people: People, before: str
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.reach(before).application_id

    refused(ledger, InvalidTransition, lambda: story.pay(app_id, 1_000_000, "advance"), app_id)


@pytest.mark.parametrize("closed", ["rejected", "withdrawn"])
def test_a_rejected_or_withdrawn_application_cannot_be_approved(
    ledger: Ledger, people: People, closed: str
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.reach(closed).application_id

    refused(ledger, InvalidTransition, lambda: story.approve_by(people.approver, app_id), app_id)

    assert line(ledger)["committed"] == 0


def test_after_settlement_only_recoveries_are_recorded(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    reached = story.reach("settled")
    app_id, payment_id = reached.application_id, reached.payment_id
    assert payment_id is not None and reached.recovery_id is not None
    # Nothing that changes the application's money or status ...
    attempts: list[Callable[[], object]] = [
        lambda: story.pay(app_id, 1_000_000),
        lambda: story.reverse(app_id, payment_id),
        lambda: story.accept(app_id, "failed"),
        lambda: story.cancel(app_id),
        lambda: story.settle(app_id),
        lambda: story.sign(app_id),
        lambda: story.approve_by(people.approver, app_id),
        lambda: story.send_back(app_id),
    ]
    for attempt in attempts:
        refused(ledger, InvalidTransition, attempt, app_id)
    # ... but the open recovery is received, and another one ordered and received.
    story.receive_recovery(app_id, reached.recovery_id)
    story.receive_recovery(app_id, story.order_recovery(app_id, 2_000_000))
    state = ledger.get_application(app_id)
    assert (state["status"], state["recovered"]) == ("settled", 7_000_000)


# -- 5. separation of duties, and who may do what -------------------------------------------------


@pytest.mark.parametrize(
    ("who", "did"),
    [("officer", "submitted"), ("appraiser", "appraised")],
    ids=["submitted", "appraised"],
)
def test_the_officer_who_submitted_or_appraised_may_not_approve(
    ledger: Ledger, people: People, who: str, did: str
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.appraised(
        CITY, ENTERPRISE
    )  # submitted by people.officer, appraised by people.appraiser

    error = refused(
        ledger, SeparationOfDuties, lambda: story.approve_by(getattr(people, who), app_id), app_id
    )

    assert did in error.detail


def test_an_officer_outside_skhcn_may_not_approve(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.appraised(CITY, ENTERPRISE)

    refused(ledger, Forbidden, lambda: story.approve_by(people.district_officer, app_id), app_id)

    # A third SKHCN officer may.
    story.approve_by(people.approver, app_id)
    assert status(ledger, app_id) == "approved"


#: Who may run which command, from README's HTTP contract "Authentication and roles".
MAY: dict[str, set[str]] = {
    "officer": {
        "register_enterprise",
        "correct_enterprise",
        "submit_application",
        "return_application",
        "resubmit_application",
        "appraise_application",
        "approve_application",
        "reject_application",
        "withdraw_application",
        "sign_contract",
        "record_disbursement",
        "reverse_disbursement",
        "record_acceptance",
        "settle_application",
        "cancel_application",
        "approve_activity",
        "record_activity_spending",
        "complete_activity",
        "report_needs",
        "draft_estimate",
    },
    "finance": {
        "assign_budget",
        "reduce_budget",
        "close_budget_year",
        "reopen_budget_year",
        "add_support_rule",
        "appraise_estimate",
        "return_estimate",
        "order_recovery",
        "receive_recovery",
    },
    "admin": {"grant_access", "revoke_access", "change_user"},
    "leader": {"approve_estimate"},
    "inspector": set(),
    "viewer": set(),
}


@pytest.mark.parametrize("role", list(MAY))
def test_each_role_may_run_exactly_the_commands_api_md_gives_it(role: str) -> None:
    actor = Actor(user_id="u-1", name="Người dùng", role=role, department="SKHCN")
    assert set(PERMISSIONS) == set().union(*MAY.values())
    for action in PERMISSIONS:
        if action in MAY[role]:
            require(actor, action)
        else:
            with pytest.raises(Forbidden, match=role):
                require(actor, action)


def city_request(enterprise_id: UUID) -> c.SubmitApplication:
    """A request of ``CITY`` from the city budget alone, under a fresh dossier number."""
    return c.SubmitApplication(
        enterprise_id=enterprise_id,
        dossier_no=ref("HS"),
        project="DA2",
        support_type="iso_9001",
        title="ISO",
        total_cost=CITY,
        requested=funding(CITY),
        submitted_on=D(YEAR, 2, 1),
    )


def test_a_role_that_may_not_is_refused_by_the_ledger_and_nothing_is_written(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    enterprise_id = UUID(ledger.get_application(app_id)["enterprise_id"])
    submit = city_request(enterprise_id)
    pay = c.RecordDisbursement(
        application_id=app_id,
        paid_on=D(YEAR, 4, 1),
        amount=1_000_000,
        voucher_no=ref("PC"),
        kind="payment",
    )
    recover = c.OrderRecovery(
        application_id=app_id, ordered_on=D(YEAR, 5, 1), amount=1, reason="Kiểm toán"
    )
    assign = c.AssignBudget(
        budget_year=YEAR,
        project="DA2",
        source="city_budget",
        amount=1,
        decision_no=ref("QĐ"),
        decided_on=D(YEAR, 1, 5),
    )
    grant = c.GrantAccess(name="Người mới", role="admin", department="SKHCN")

    refused(ledger, Forbidden, lambda: ledger.submit_application(submit, people.viewer))
    refused(ledger, Forbidden, lambda: ledger.submit_application(submit, people.inspector))
    refused(ledger, Forbidden, lambda: ledger.record_disbursement(pay, people.finance), app_id)
    refused(ledger, Forbidden, lambda: ledger.record_disbursement(pay, people.leader), app_id)
    refused(ledger, Forbidden, lambda: ledger.order_recovery(recover, people.officer), app_id)
    refused(ledger, Forbidden, lambda: ledger.assign_budget(assign, people.officer))
    refused(ledger, Forbidden, lambda: ledger.grant_access(grant, people.officer))
    refused(ledger, Forbidden, lambda: ledger.grant_access(grant, people.finance))


# -- 8. corrections never edit; reversals name what they reverse ----------------------------------


def test_a_reversal_names_the_payment_it_reverses_and_why(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    payment_id = story.pay(app_id, 25_000_000)
    paid = ledger.get_application_history(app_id)

    story.reverse(app_id, payment_id, reason="Chi nhầm tài khoản")

    history = ledger.get_application_history(app_id)
    assert history[:-1] == paid, "the payment itself is not edited"
    reversal = history[-1]
    assert reversal["type"] == "DisbursementReversed"
    assert reversal["data"]["disbursement_id"] == str(payment_id)
    assert reversal["data"]["amount"] == 25_000_000
    assert reversal["data"]["reason"] == "Chi nhầm tài khoản"
    assert ledger.get_application(app_id)["disbursements"] == [
        {
            "id": str(payment_id),
            "kind": "payment",
            "amount": 25_000_000,
            "voucher_no": paid[-1]["data"]["voucher_no"],
            "reversed": True,
        }
    ]


def test_a_payment_cannot_be_reversed_twice(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    story.pay(app_id, 10_000_000, "advance")
    payment_id = story.pay(app_id, 25_000_000)
    story.reverse(app_id, payment_id)

    refused(ledger, InvalidTransition, lambda: story.reverse(app_id, payment_id), app_id)

    assert line(ledger)["disbursed"] == 10_000_000


def test_a_reversal_names_a_payment_of_its_own_application(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    first = story.contracted(CITY, ENTERPRISE)
    second = story.contracted(CITY, ENTERPRISE)
    payment_of_first = story.pay(first, 10_000_000)

    refused(ledger, NotFound, lambda: story.reverse(second, payment_of_first), first, second)
    refused(ledger, NotFound, lambda: story.reverse(second, uuid4()), first, second)


def test_a_reversal_may_not_take_back_money_under_a_recovery_order(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    payment_id = story.pay(app_id, 30_000_000)
    story.order_recovery(app_id, 10_000_000)

    refused(ledger, InvalidTransition, lambda: story.reverse(app_id, payment_id), app_id)


def test_a_recovery_cannot_be_received_twice(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    story.pay(app_id, 30_000_000)
    recovery_id = story.order_recovery(app_id, 10_000_000)
    story.receive_recovery(app_id, recovery_id)

    refused(ledger, InvalidTransition, lambda: story.receive_recovery(app_id, recovery_id), app_id)
    refused(ledger, NotFound, lambda: story.receive_recovery(app_id, uuid4()), app_id)

    assert line(ledger)["recovered"] == 10_000_000


def test_the_same_tax_code_cannot_be_registered_twice(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.register("0101234567")
    story.register("0101234567-001")  # a branch has its own code

    refused(ledger, Duplicate, lambda: story.register("0101234567"))


@pytest.mark.parametrize("again", ["HS-2015-001", "hs-2015-001", "  HS-2015-001 "])
def test_the_same_dossier_number_cannot_be_submitted_twice(
    ledger: Ledger, people: People, again: str
) -> None:
    story = Story(ledger, people)
    enterprise_id = story.enterprise()
    first = story.submit("HS-2015-001", enterprise_id).id

    refused(ledger, Duplicate, lambda: story.submit(again, enterprise_id), first)


def test_the_same_contract_number_cannot_be_signed_twice(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    first = story.approved(CITY, ENTERPRISE)
    second = story.approved(CITY, ENTERPRISE)
    story.sign(first, "HĐ-2015-007")

    refused(ledger, Duplicate, lambda: story.sign(second, "HĐ-2015-007"), first, second)

    assert status(ledger, second) == "approved"


def test_the_same_voucher_number_cannot_be_used_twice(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    other = story.contracted(CITY, ENTERPRISE)
    story.pay_with(app_id, 10_000_000, "PC-2015-042")
    recovery_id = story.order_recovery(app_id, 1_000_000)
    activity_id = story.activity(budget=10_000_000)

    # Not for a second payment, of this application or another one ...
    refused(ledger, Duplicate, lambda: story.pay_with(app_id, 1, "PC-2015-042"), app_id, other)
    refused(ledger, Duplicate, lambda: story.pay_with(other, 1, "PC-2015-042"), app_id, other)
    # ... nor for a recovery receipt, nor for an activity's spending.
    refused(
        ledger,
        Duplicate,
        lambda: story.receive_recovery(app_id, recovery_id, "PC-2015-042"),
        app_id,
        other,
    )
    refused(ledger, Duplicate, lambda: story.spend(activity_id, 1, "pc-2015-042"), app_id, other)
    assert ledger.get_activity(activity_id)["spent"] == 0


def test_unknown_ids_are_not_found(ledger: Ledger, people: People) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.contracted(CITY, ENTERPRISE)
    enterprise_id = UUID(ledger.get_application(app_id)["enterprise_id"])
    nobody = uuid4()
    submit = city_request(nobody)
    correction = c.CorrectEnterprise(
        enterprise_id=nobody, corrected_on=D(YEAR, 6, 1), reason="Sai tên", name="Công ty X"
    )
    spending = c.RecordActivitySpending(
        activity_id=nobody, spent_on=D(YEAR, 5, 1), amount=1, voucher_no=ref("PC")
    )
    revoke = c.RevokeAccess(user_id=nobody, reason="Nghỉ việc")

    unknown: list[Callable[[], object]] = [
        lambda: ledger.get_application(nobody),
        lambda: ledger.get_application(enterprise_id),  # an id of another kind of record
        lambda: ledger.get_application_history(nobody),
        lambda: ledger.get_enterprise(nobody),
        lambda: ledger.get_enterprise(app_id),
        lambda: ledger.get_activity(nobody),
        lambda: ledger.submit_application(submit, people.officer),
        lambda: ledger.correct_enterprise(correction, people.officer),
        lambda: story.approve_by(people.approver, nobody),
        lambda: story.pay(nobody, 1_000_000),
        lambda: story.cancel(nobody),
        lambda: ledger.record_activity_spending(spending, people.officer),
        lambda: ledger.revoke_access(revoke, people.admin),
    ]
    for attempt in unknown:
        refused(ledger, NotFound, attempt, app_id)


def test_a_revoked_token_is_no_longer_accepted(ledger: Ledger, people: People) -> None:
    granted = ledger.grant_access(
        c.GrantAccess(name="Ngô Văn Lâm", role="officer", department="SKHCN"), SYSTEM
    )
    assert ledger.authenticate(granted.token).user_id == str(granted.user_id)

    ledger.revoke_access(c.RevokeAccess(user_id=granted.user_id, reason="Chuyển công tác"), SYSTEM)

    refused(ledger, Unauthorized, lambda: ledger.authenticate(granted.token))
    revoke_again = c.RevokeAccess(user_id=granted.user_id, reason="Lần nữa")
    refused(ledger, InvalidTransition, lambda: ledger.revoke_access(revoke_again, SYSTEM))
    # The others keep their access.
    assert ledger.authenticate(people.tokens["officer"]) == people.officer


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 600], ids=["empty", "unknown", "long"])
def test_a_missing_or_unknown_token_is_refused(ledger: Ledger, token: str) -> None:
    refused(ledger, Unauthorized, lambda: ledger.authenticate(token))


# -- a unit of work is all or nothing, for the ledger that ran it too -----------------------------
# ``Ledger.execute`` runs several commands as one unit of work (the demo loader does); a
# refusal in any of them rolls the whole unit back, and a lost race reruns it from fresh
# state. The same ledger must then go on from what was committed, not from what it saw
# inside the unit.


def test_after_a_refused_unit_of_work_the_ledger_goes_on_from_what_was_committed(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    app_id = story.appraised(CITY, ENTERPRISE)

    def unit() -> None:
        # Approve and contract the application, then pay more than approved: refused.
        story.approve_by(people.approver, app_id)
        story.sign(app_id)
        story.pay(app_id, CITY + 1)

    refused(ledger, ExceedsApproved, lambda: ledger.execute(unit), app_id)

    # Still appraised, for this ledger as for any other: no contract before approval ...
    assert status(ledger, app_id) == "appraised"
    refused(ledger, InvalidTransition, lambda: story.sign(app_id), app_id)
    # ... and approval and contract go through as if the unit had never run.
    story.approve_by(people.approver, app_id)
    story.sign(app_id)
    history = ledger.get_application_history(app_id)
    assert [row["type"] for row in history] == [
        "Submitted",
        "Appraised",
        "Approved",
        "ContractSigned",
    ]
    assert figures(ledger)["committed"] == CITY


def test_a_unit_of_work_rerun_because_its_number_is_taken_is_refused_as_a_duplicate(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget()
    other = story.approved(CITY, ENTERPRISE)
    story.sign(other, "HĐ-2015-007")
    app_id = story.appraised(CITY, ENTERPRISE)

    def unit() -> None:
        # Approve, then sign under a contract number already taken: the store's index
        # refuses the claim, the unit is rolled back and rerun, and the rerun says why.
        story.approve_by(people.approver, app_id)
        story.sign(app_id, "HĐ-2015-007")

    refused(ledger, Duplicate, lambda: ledger.execute(unit), app_id, other)

    assert status(ledger, app_id) == "appraised"


# -- the arithmetic of a budget line -------------------------------------------------------------


def test_a_budget_line_adds_up_through_payments_reversals_closings_and_recoveries(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(500_000_000)

    def assert_line(committed: int, disbursed: int, recovered: int) -> None:
        assert figures(ledger) == {
            "assigned": 500_000_000,
            "committed": committed,
            "disbursed": disbursed,
            "recovered": recovered,
            "available": 500_000_000 - committed,
        }

    # A: 100,000,000 approved and contracted.
    a = story.contracted(100_000_000, 0)
    assert_line(committed=100_000_000, disbursed=0, recovered=0)
    # An advance of 30,000,000, a wrong payment of 50,000,000, its reversal, a payment of 40.
    story.pay(a, 30_000_000, "advance")
    wrong = story.pay(a, 50_000_000)
    assert_line(committed=100_000_000, disbursed=80_000_000, recovered=0)
    story.reverse(a, wrong)
    story.pay(a, 40_000_000)
    assert_line(committed=100_000_000, disbursed=70_000_000, recovered=0)
    # A is cancelled: the 30,000,000 never paid go back to the line.
    story.cancel(a)
    assert_line(committed=70_000_000, disbursed=70_000_000, recovered=0)
    # 20,000,000 of A are ordered back (nothing moves) and received (no longer committed).
    recovery = story.order_recovery(a, 20_000_000)
    assert_line(committed=70_000_000, disbursed=70_000_000, recovered=0)
    story.receive_recovery(a, recovery)
    assert_line(committed=50_000_000, disbursed=70_000_000, recovered=20_000_000)

    # B: 60,000,000 approved; an advance of 20,000,000, of which 5,000,000 come back while
    # B is open (its commitment stays, and B may pay that much again).
    b = story.contracted(60_000_000, 40_000_000)
    story.pay(b, 20_000_000, "advance")
    story.receive_recovery(b, story.order_recovery(b, 5_000_000))
    assert_line(committed=110_000_000, disbursed=90_000_000, recovered=25_000_000)
    story.pay(b, 40_000_000)
    assert_line(committed=110_000_000, disbursed=130_000_000, recovered=25_000_000)
    # B is accepted and settled: 60 − (60 − 5) = 5,000,000 go back to the line.
    story.accept(b)
    story.settle(b)
    assert_line(committed=105_000_000, disbursed=130_000_000, recovered=25_000_000)
    # After settlement 10,000,000 are recovered: received, they are no longer committed.
    story.receive_recovery(b, story.order_recovery(b, 10_000_000))
    assert_line(committed=95_000_000, disbursed=130_000_000, recovered=35_000_000)

    # Both are closed, and the line keeps committed exactly their money out.
    closed = [ledger.get_application(app_id) for app_id in (a, b)]
    assert [state["status"] for state in closed] == ["cancelled", "settled"]
    assert sum(state["disbursed"] - state["recovered"] for state in closed) == 95_000_000


def test_a_payment_reversed_after_cancellation_returns_its_money_to_the_line(
    ledger: Ledger, people: People
) -> None:
    story = Story(ledger, people)
    story.budget(500_000_000)
    # 100,000,000 approved; an advance of 30,000,000 and a payment of 50,000,000.
    app_id = story.contracted(100_000_000, 0)
    story.pay(app_id, 30_000_000, "advance")
    payment_id = story.pay(app_id, 50_000_000)
    # Cancelled: what was never paid (20,000,000) goes back; 80,000,000 stay committed.
    story.cancel(app_id)
    assert figures(ledger)["committed"] == 80_000_000
    # The payment turns out wrong and is reversed: the application's money out is now
    # 30,000,000, and a closed application keeps committed exactly its money out.
    story.reverse(app_id, payment_id)

    assert ledger.get_application(app_id)["disbursed"] == 30_000_000
    assert figures(ledger) == {
        "assigned": 500_000_000,
        "committed": 30_000_000,
        "disbursed": 30_000_000,
        "recovered": 0,
        "available": 470_000_000,
    }
