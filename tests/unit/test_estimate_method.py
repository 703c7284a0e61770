"""The draft method as a pure function: each term rounded on its own so a line adds up to
the đồng, unpaid commitments beside the line and never in it, targets only while the program
runs, and the same inputs always the same lines."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ledger.estimate_method import (
    Activities,
    Decided,
    EstimateInputs,
    Need,
    Pipeline,
    ProjectInputs,
    TargetFigures,
    Unpaid,
    draft_lines,
    whole,
)


def inputs(year: int = 2016, **projects: ProjectInputs) -> EstimateInputs:
    return EstimateInputs(
        budget_year=year,
        position=42,
        projects=projects,
        targets={"patents": TargetFigures("patents", achieved=10, cost=333_333_333)},
        needs=(Need("SCT", "DA4", "patent", 3, 1_000_001),),
    )


DA4 = ProjectInputs(
    "DA4",
    pipeline=Pipeline(
        submitted=1,
        submitted_amount=100,
        appraised=2,
        appraised_amount=201,
        by_target={"patents": 301},
    ),
    decided=Decided(decided=3, requested=3, approved=1, granted=1),
    activities={"science_fund": Activities(10, (2013, 2014, 2015))},
    unpaid={"science_recurrent": Unpaid(7_000_000, 2)},
)


def test_half_up_to_whole_dong() -> None:
    assert [whole(Fraction(n, 2)) for n in (1, 3, 5)] == [1, 2, 3]
    assert whole(Fraction(1, 3)) == 0


def test_every_line_is_the_sum_of_its_rounded_terms() -> None:
    lines = draft_lines(inputs(DA4=DA4))
    assert [(line["project"], line["channel"]) for line in lines] == [
        ("DA4", "science_recurrent"),
        ("DA4", "science_fund"),
    ]
    recurrent, fund = lines
    terms = {item["input"]: item["amount"] for item in recurrent["justification"]}
    assert terms["pipeline"] == 100  # 301 × 1/3 = 100.33
    assert terms["needs"] == 1_000_001
    # 40 patents to go over 5 years at 33,333,333.3 each, less 100.33 + 1,000,001
    wanted = Fraction(40, 5) * Fraction(333_333_333, 10) - Fraction(301, 3) - 1_000_001
    assert terms["target:patents"] == whole(wanted)
    assert recurrent["amount"] == sum(terms.values())
    assert fund["amount"] == 3 and fund["justification"][0]["input"] == "activities"


def test_unpaid_commitments_are_beside_the_line_not_in_it() -> None:
    [line] = draft_lines(
        inputs(DA1=ProjectInputs("DA1", unpaid={"science_recurrent": Unpaid(5_000_000, 1)}))
    )[:1]
    assert line["project"] == "DA1" and line["amount"] == 0
    assert line["justification"] == []
    assert line["informational"][0]["amount"] == 5_000_000
    assert "carry-over" in line["informational"][0]["detail"]


@pytest.mark.parametrize("year", [2021, 2025])
def test_no_target_shortfall_after_the_program(year: int) -> None:
    lines = draft_lines(inputs(year, DA4=DA4))
    names = {item["input"] for line in lines for item in line["justification"]}
    assert not any(name.startswith("target:") for name in names)


def test_the_same_inputs_give_the_same_lines() -> None:
    assert draft_lines(inputs(DA4=DA4)) == draft_lines(inputs(DA4=DA4))


def test_without_decided_applications_the_pipeline_counts_in_full() -> None:
    pipeline = Pipeline(submitted=1, submitted_amount=500)
    [line] = draft_lines(
        EstimateInputs(2016, 1, {"DA3": ProjectInputs("DA3", pipeline=pipeline)}, {})
    )
    assert line["justification"][0]["amount"] == 500
    assert "100 %" in line["justification"][0]["detail"]
