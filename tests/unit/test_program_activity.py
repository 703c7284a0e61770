"""A program activity on its own: spending never passes its budget, and once completed it
takes no more spending and releases what was not spent."""

from __future__ import annotations

import pytest

from ledger.errors import ExceedsApproved, InvalidTransition
from ledger.program_activity import ProgramActivity
from tests.support.domain import activity_approval, meta, refused

BUDGET = 30_000_000


def approved(budget: int = BUDGET) -> ProgramActivity:
    return ProgramActivity.approve(activity_approval("SCT", budget), meta())


def test_an_approved_activity_runs_for_its_own_department() -> None:
    activity = approved()
    assert (activity.department, activity.status, activity.budget, activity.spent) == (
        "SCT",
        "approved",
        BUDGET,
        0,
    )


def test_spending_may_reach_but_never_pass_the_budget() -> None:
    activity = approved()
    activity.spend(20_000_000, "PC-1", meta())
    error = refused(activity, ExceedsApproved, lambda: activity.spend(10_000_001, "PC-2", meta()))
    assert error.detail == (
        "Spending 10.000.001 ₫ would pass the activity's budget of 30.000.000 ₫: "
        "10.000.000 ₫ remains."
    )
    activity.spend(10_000_000, "PC-2", meta())
    assert activity.spent == BUDGET


def test_completion_releases_what_was_not_spent() -> None:
    activity = approved()
    activity.spend(12_000_000, "PC-1", meta())
    assert activity.complete("Đã tập huấn 120 người", meta()) == 18_000_000
    assert activity.status == "completed"


@pytest.mark.parametrize("action", ["spend", "complete"])
def test_a_completed_activity_takes_nothing_more(action: str) -> None:
    activity = approved()
    activity.complete("Đã tập huấn", meta())
    run = {
        "spend": lambda: activity.spend(1, "PC-3", meta()),
        "complete": lambda: activity.complete("Lần nữa", meta()),
    }[action]
    error = refused(activity, InvalidTransition, run)
    assert error.detail == "Activity 'Tập huấn năng suất chất lượng' is already completed."
