"""The budget line on its own: a commitment must fit what is assigned and not yet committed
(ARCHITECTURE.md invariant 3); releases, adjustments and money movements add up as the line's
figures say."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledger.budget_line import BUDGET_LINES, BudgetLine, budget_line_id
from ledger.commands import FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR
from ledger.errors import InsufficientBudget
from tests.support.domain import budget_line, meta, refused

ASSIGNED = 100_000_000


def figures(line: BudgetLine) -> tuple[int, int, int, int, int]:
    return (line.assigned, line.committed, line.disbursed, line.recovered, line.available)


def test_a_commitment_may_take_the_last_dong_but_not_one_more() -> None:
    line = budget_line(ASSIGNED)
    line.commit(uuid4(), 60_000_000, meta())
    error = refused(line, InsufficientBudget, lambda: line.commit(uuid4(), 40_000_001, meta()))
    assert error.detail == (
        "The city_budget line of DA2 for 2015 has 40.000.000 ₫ uncommitted; 40.000.001 ₫ was asked."
    )
    line.commit(uuid4(), 40_000_000, meta())
    assert figures(line) == (ASSIGNED, ASSIGNED, 0, 0, 0)


@pytest.mark.parametrize(
    ("adjustment", "fits", "refused_amount"),
    [(+10_000_000, 110_000_000, 110_000_001), (-10_000_000, 90_000_000, 90_000_001)],
    ids=["increased", "reduced"],
)
def test_an_adjustment_moves_the_room_for_commitments(
    adjustment: int, fits: int, refused_amount: int
) -> None:
    line = budget_line(ASSIGNED)
    line.adjust(adjustment, meta())
    assert line.available == fits
    refused(line, InsufficientBudget, lambda: line.commit(uuid4(), refused_amount, meta()))
    line.commit(uuid4(), fits, meta())
    assert line.available == 0


def test_a_release_gives_back_room_and_a_release_of_nothing_writes_nothing() -> None:
    line = budget_line(ASSIGNED)
    record = uuid4()
    line.commit(record, ASSIGNED, meta())
    version = line.version
    line.release(record, 0, meta())
    assert line.version == version
    line.release(record, 25_000_000, meta())
    assert (line.version, line.available) == (version + 1, 25_000_000)


def test_money_paid_and_recovered_is_counted_but_does_not_change_the_room() -> None:
    line = budget_line(ASSIGNED)
    record, paid, again = uuid4(), uuid4(), uuid4()
    line.commit(record, 60_000_000, meta())
    line.disburse(record, paid, 20_000_000, meta())
    line.disburse(record, again, 10_000_000, meta())
    line.reverse_disbursement(record, again, 10_000_000, meta())
    line.recover(record, uuid4(), 5_000_000, meta())
    assert figures(line) == (ASSIGNED, 60_000_000, 20_000_000, 5_000_000, 40_000_000)
    assert line.as_dict()["available"] == 40_000_000


def test_a_line_is_named_by_its_year_project_source_and_channel() -> None:
    line = budget_line(ASSIGNED, year=2016, project="DA1", source="enterprise")
    assert line.id == budget_line_id(2016, "DA1", "enterprise")
    assert BUDGET_LINES[line.id] == (2016, "DA1", "enterprise", "science_recurrent")
    assert budget_line_id(2016, "DA1", "enterprise") != budget_line_id(2016, "DA1", "other")
    # the default channel keeps the id a line had before channels existed
    assert budget_line_id(2016, "DA1", "city_budget", "science_recurrent") == budget_line_id(
        2016, "DA1", "city_budget"
    )
    fund = budget_line_id(2016, "DA1", "city_budget", "science_fund")
    assert fund != budget_line_id(2016, "DA1", "city_budget")
    assert BUDGET_LINES[fund] == (2016, "DA1", "city_budget", "science_fund")
    years = {year for year, _, _, _ in BUDGET_LINES.values()}
    assert years == set(range(FIRST_BUDGET_YEAR, LAST_BUDGET_YEAR + 1))
