"""The guards of a support application, on the aggregate itself: no database, no service.

Every action from every status (ARCHITECTURE.md invariant 4), the funding split and support type of
a request (1), the ceilings of recommendations, approvals, payments and recoveries (2), the
separation of duties (5) and the reversals' rules (8). A refused command raises exactly its
domain error and leaves the aggregate as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from ledger.access import Actor
from ledger.errors import (
    ExceedsApproved,
    ExceedsRequested,
    Forbidden,
    FundingSplitMismatch,
    InvalidTransition,
    LedgerError,
    NotFound,
    SeparationOfDuties,
    ValidationFailed,
)
from ledger.support_application import SupportApplication
from tests.support.domain import (
    ADVANCE,
    APPRAISER,
    APPROVER,
    CITY,
    DISTRICT_OFFICER,
    ENTERPRISE,
    FINANCE,
    OFFICER,
    PAYMENT,
    RECOVERY,
    acceptance,
    appraisal,
    appraised,
    approval,
    contracted,
    disbursement,
    meta,
    reach,
    refused,
    submission,
    submitted,
)
from tests.support.lifecycle import EVERY_STATUS, LIFECYCLE

App = SupportApplication


def payment_of(app: App) -> UUID:
    """The payment (not the advance) of an application ``reach`` brought on, or any id."""
    return next((d.id for d in app.disbursements.values() if d.kind == "payment"), uuid4())


def open_recovery_of(app: App) -> UUID:
    return next((r.id for r in app.recoveries.values() if not r.received), uuid4())


#: action -> how to run it on an application, and the status it leads to (None: it stays)
ACTIONS: dict[str, tuple[Callable[[App], object], str | None]] = {
    "return": (lambda a: a.return_for_completion("Thiếu hồ sơ", meta()), "returned"),
    "resubmit": (lambda a: a.resubmit("Đã bổ sung", meta()), "submitted"),
    "appraise": (lambda a: a.appraise(appraisal(), meta(APPRAISER)), "appraised"),
    "approve": (lambda a: a.approve(approval(), meta(APPROVER)), "approved"),
    "reject": (lambda a: a.reject("Không đủ điều kiện", meta()), "rejected"),
    "withdraw": (lambda a: a.withdraw("Doanh nghiệp rút", meta()), "withdrawn"),
    "sign a contract for": (lambda a: a.sign_contract("HĐ-0002", meta()), "contracted"),
    "pay": (lambda a: a.disburse(disbursement(PAYMENT), meta()), None),
    "reverse a payment of": (
        lambda a: a.reverse_disbursement(payment_of(a), "Chi sai", meta()),
        None,
    ),
    "record the acceptance of": (lambda a: a.record_acceptance(acceptance(), meta()), "accepted"),
    "settle": (lambda a: a.settle(None, meta()), "settled"),
    "cancel": (lambda a: a.cancel("Doanh nghiệp dừng", meta()), "cancelled"),
    "order a recovery for": (lambda a: a.order_recovery(1_000_000, "Thu hồi", meta()), None),
    "receive a recovery for": (
        lambda a: a.receive_recovery(open_recovery_of(a), meta(FINANCE)),
        None,
    ),
}

PAIRS = [(action, status) for action in LIFECYCLE for status in EVERY_STATUS]


@pytest.mark.parametrize(
    ("action", "from_status"),
    [pytest.param(a, s, id=f"{a}-from-{s}") for a, s in PAIRS if s in LIFECYCLE[a]],
)
def test_an_allowed_action_adds_one_event_and_moves_the_application_on(
    action: str, from_status: str
) -> None:
    app = reach(from_status)
    assert app.status == from_status
    version = app.version
    run, becomes = ACTIONS[action]
    run(app)
    assert app.version == version + 1
    assert app.status == (becomes or from_status)


@pytest.mark.parametrize(
    ("action", "from_status"),
    [pytest.param(a, s, id=f"{a}-from-{s}") for a, s in PAIRS if s not in LIFECYCLE[a]],
)
def test_an_action_out_of_lifecycle_order_is_refused_and_changes_nothing(
    action: str, from_status: str
) -> None:
    app = reach(from_status)
    run, _ = ACTIONS[action]
    error = refused(app, InvalidTransition, lambda: run(app))
    assert error.detail.startswith(f"Cannot {action} application HS-0001: it is {from_status};")


# -- the request (invariant 1) ------------------------------------------------------------------


def test_a_request_whose_sources_do_not_add_up_to_the_total_cost_is_refused() -> None:
    with pytest.raises(FundingSplitMismatch) as caught:
        App.submit(submission(CITY, ENTERPRISE, total_cost=CITY + ENTERPRISE + 1), meta())
    assert caught.value.detail == (
        "The requested amounts add up to 100.000.000 ₫, not the total cost of 100.000.001 ₫."
    )
    assert [(p.loc, p.msg) for p in caught.value.errors] == [
        (("body", "requested"), "does not add up to total_cost")
    ]


def test_a_support_type_of_another_project_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        App.submit(submission(project="DA2", support_type="patent"), meta())
    assert type(caught.value) is ValidationFailed
    assert caught.value.detail == "Support type 'patent' does not belong to project DA2."
    assert [p.loc for p in caught.value.errors] == [("body", "support_type")]


@pytest.mark.parametrize("project", ["DA1", "DA2", "DA3", "DA4"])
def test_a_support_type_of_no_one_project_is_allowed_in_every_project(project: str) -> None:
    app = App.submit(submission(project=project, support_type="training"), meta())
    assert (app.status, app.project, app.requested) == (
        "submitted",
        project,
        {"city_budget": CITY, "enterprise": ENTERPRISE, "other": 0},
    )


# -- ceilings (invariant 2) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "enterprise", "other", "source"),
    [
        (CITY + 1, ENTERPRISE, 0, "city_budget"),
        (CITY, ENTERPRISE + 1, 0, "enterprise"),
        (CITY, ENTERPRISE, 1, "other"),
    ],
)
def test_a_recommendation_or_an_approval_above_the_request_of_any_source_is_refused(
    city: int, enterprise: int, other: int, source: str
) -> None:
    app = submitted()
    error = refused(
        app, ExceedsRequested, lambda: app.appraise(appraisal(city, enterprise, other), meta())
    )
    assert error.detail.startswith(f"The recommended {source} amount ")
    app = appraised()
    error = refused(
        app,
        ExceedsRequested,
        lambda: app.approve(approval(city, enterprise, other), meta(APPROVER)),
    )
    assert error.detail.startswith(f"The approved {source} amount ")


def test_a_recommendation_or_an_approval_of_nothing_is_refused() -> None:
    app = submitted()
    error = refused(app, ValidationFailed, lambda: app.appraise(appraisal(0, 0), meta()))
    assert error.detail == "The recommendation is zero: reject the application instead."
    app = appraised()
    error = refused(app, ValidationFailed, lambda: app.approve(approval(0, 0), meta(APPROVER)))
    assert error.detail == "The approval is zero: reject the application instead."


def test_an_approval_may_take_less_than_the_request_and_fixes_the_budget_year() -> None:
    app = appraised()
    app.approve(approval(CITY - 1, 0, year=2016), meta(APPROVER))
    assert (app.approved, app.budget_year, app.approved_by) == (
        {"city_budget": CITY - 1, "enterprise": 0, "other": 0},
        2016,
        "approver",
    )


def test_payments_may_reach_but_never_pass_the_approved_city_share() -> None:
    app = contracted()
    app.disburse(disbursement(ADVANCE, "advance"), meta())
    app.disburse(disbursement(CITY - ADVANCE), meta())
    assert app.disbursed == CITY
    error = refused(app, ExceedsApproved, lambda: app.disburse(disbursement(1), meta()))
    assert error.detail == (
        "Paying 1 ₫ would pass the approved city-budget share of 60.000.000 ₫: 0 ₫ remains."
    )


def test_a_reversed_payment_no_longer_counts_against_the_approved_share() -> None:
    app = contracted()
    paid = app.disburse(disbursement(CITY), meta())
    assert app.reverse_disbursement(paid, "Chi sai", meta()) == CITY
    assert app.disbursed == 0
    app.disburse(disbursement(CITY), meta())
    assert app.disbursed == CITY


def test_a_received_recovery_makes_room_for_payment_but_an_ordered_one_does_not() -> None:
    app = contracted()
    app.disburse(disbursement(CITY), meta())
    recovery = app.order_recovery(RECOVERY, "Chi vượt định mức", meta(FINANCE))
    refused(app, ExceedsApproved, lambda: app.disburse(disbursement(1), meta()))
    assert app.receive_recovery(recovery, meta(FINANCE)) == RECOVERY
    refused(app, ExceedsApproved, lambda: app.disburse(disbursement(RECOVERY + 1), meta()))
    app.disburse(disbursement(RECOVERY), meta())
    assert app.disbursed == CITY + RECOVERY
    assert (app.recovered, app.recovery_ordered) == (RECOVERY, RECOVERY)


def test_a_recovery_may_reach_but_never_pass_what_was_paid_out_and_not_yet_ordered() -> None:
    app = contracted()
    app.disburse(disbursement(ADVANCE, "advance"), meta())
    app.order_recovery(RECOVERY, "Thu hồi", meta(FINANCE))
    error = refused(
        app,
        ExceedsApproved,
        lambda: app.order_recovery(ADVANCE - RECOVERY + 1, "Thu hồi", meta(FINANCE)),
    )
    assert error.detail == (
        "Cannot order the recovery of 15.000.001 ₫: only 15.000.000 ₫ paid out is not yet "
        "under a recovery order."
    )
    app.order_recovery(ADVANCE - RECOVERY, "Thu hồi", meta(FINANCE))
    assert app.recovery_ordered == ADVANCE


# -- separation of duties (invariant 5) and who approves ----------------------------------------


@pytest.mark.parametrize(
    ("approver", "error", "detail"),
    [
        (
            OFFICER,
            SeparationOfDuties,
            "The approver may not be the person who submitted the application.",
        ),
        (
            APPRAISER,
            SeparationOfDuties,
            "The approver may not be the person who appraised the application.",
        ),
        (
            DISTRICT_OFFICER,
            Forbidden,
            "Only officers of SKHCN approve support applications; you act for QH-CAUGIAY.",
        ),
    ],
    ids=["submitter", "appraiser", "outside-skhcn"],
)
def test_who_may_not_approve(approver: Actor, error: type[LedgerError], detail: str) -> None:
    app = appraised()
    assert refused(app, error, lambda: app.approve(approval(), meta(approver))).detail == detail


def test_a_resubmitted_application_forgets_its_appraisal_and_its_appraiser() -> None:
    app = appraised()
    app.return_for_completion("Thiếu báo cáo tài chính", meta())
    app.resubmit(None, meta())
    assert (app.status, app.recommended, app.appraised_by) == ("submitted", None, None)
    app.appraise(appraisal(), meta(APPROVER))
    refused(app, SeparationOfDuties, lambda: app.approve(approval(), meta(APPROVER)))
    app.approve(approval(), meta(APPRAISER))  # the first appraiser no longer appraised it
    assert app.approved_by == "appraiser"


# -- reversals and recoveries (invariant 8) -----------------------------------------------------


def test_a_payment_the_application_does_not_have_is_not_found() -> None:
    app = contracted()
    unknown = uuid4()
    error = refused(app, NotFound, lambda: app.reverse_disbursement(unknown, "Chi sai", meta()))
    assert error.detail == f"Application HS-0001 has no payment {unknown}."


def test_a_payment_cannot_be_reversed_twice() -> None:
    app = contracted()
    paid = app.disburse(disbursement(PAYMENT), meta())
    app.reverse_disbursement(paid, "Chi sai", meta())
    error = refused(
        app, InvalidTransition, lambda: app.reverse_disbursement(paid, "Chi sai", meta())
    )
    assert error.detail == (
        "Payment PC-10000000 has already been reversed; a reversal cannot exceed what it reverses."
    )


def test_a_reversal_may_not_take_back_money_under_a_recovery_order() -> None:
    app = contracted()
    app.disburse(disbursement(ADVANCE, "advance"), meta())
    paid = app.disburse(disbursement(PAYMENT), meta())
    app.order_recovery(ADVANCE + 1, "Thu hồi", meta(FINANCE))
    refused(app, InvalidTransition, lambda: app.reverse_disbursement(paid, "Chi sai", meta()))


def test_a_recovery_cannot_be_received_twice_nor_one_never_ordered() -> None:
    app = contracted()
    app.disburse(disbursement(PAYMENT), meta())
    recovery = app.order_recovery(RECOVERY, "Thu hồi", meta(FINANCE))
    app.receive_recovery(recovery, meta(FINANCE))
    error = refused(app, InvalidTransition, lambda: app.receive_recovery(recovery, meta(FINANCE)))
    assert error.detail == "This recovery has already been received."
    unknown = uuid4()
    error = refused(app, NotFound, lambda: app.receive_recovery(unknown, meta(FINANCE)))
    assert error.detail == f"Application HS-0001 has no recovery order {unknown}."


# -- acceptance ---------------------------------------------------------------------------------


def test_a_failed_acceptance_counts_no_outputs() -> None:
    app = contracted()
    error = refused(
        app,
        ValidationFailed,
        lambda: app.record_acceptance(acceptance("failed", {"management_systems": 1}), meta()),
    )
    assert [p.loc for p in error.errors] == [("body", "outputs")]


@pytest.mark.parametrize(
    ("support_type", "output", "detail"),
    [
        (
            "iso_9001",
            "patents",
            "Support type iso_9001 counts only toward management_systems, not patents.",
        ),
        (
            "lab_iso_17025",
            "base_standards",
            "Support type lab_iso_17025 counts toward no target, not base_standards.",
        ),
    ],
)
def test_outputs_count_only_toward_the_support_types_own_target(
    support_type: str, output: str, detail: str
) -> None:
    project = "DA2" if support_type == "iso_9001" else "DA1"
    app = contracted(project=project, support_type=support_type)
    error = refused(
        app,
        ValidationFailed,
        lambda: app.record_acceptance(acceptance("passed", {output: 1}), meta()),
    )
    assert error.detail == detail
    assert [p.loc for p in error.errors] == [("body", "outputs", output)]


def test_a_passed_acceptance_keeps_its_outputs_and_a_failed_one_fails() -> None:
    passed = contracted()
    passed.record_acceptance(acceptance("passed", {"management_systems": 2}), meta())
    assert (passed.status, passed.acceptance_result, passed.outputs) == (
        "accepted",
        "passed",
        {"management_systems": 2},
    )
    failed = contracted()
    failed.record_acceptance(acceptance("failed"), meta())
    assert (failed.status, failed.acceptance_result, failed.outputs) == (
        "acceptance_failed",
        "failed",
        {},
    )


# -- closing ------------------------------------------------------------------------------------


def test_settling_releases_the_approved_share_not_paid_out_net_of_recoveries() -> None:
    app = reach("accepted")  # an advance and a payment, a recovery ordered
    recovery = open_recovery_of(app)
    app.receive_recovery(recovery, meta(FINANCE))
    released = app.settle(None, meta())
    assert released == CITY - (ADVANCE + PAYMENT - RECOVERY)
    assert released == 35_000_000
    assert app.is_closed


def test_cancelling_releases_what_was_not_paid_out() -> None:
    approved = reach("approved")
    assert approved.cancel("Dừng", meta()) == CITY
    app = reach("contracted")  # an advance and a payment, a recovery ordered not received
    assert app.cancel("Dừng", meta()) == CITY - ADVANCE - PAYMENT
    assert (app.status, app.is_closed) == ("cancelled", True)
