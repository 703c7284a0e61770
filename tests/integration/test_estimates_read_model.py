"""The ``estimates`` read model on both databases: each year's estimate, stage by stage, as its
record holds it (needs, every draft version, returns, the appraisal's changes, the approval),
kept by catch-up, the same from a rebuild and from a replay as it stood on an earlier day."""

from __future__ import annotations

from typing import Any

from api.read_side import ReadSide
from ledger.service import Ledger
from projections import estimates
from projections.check import check
from projections.projector import Projector
from projections.replay import replay
from tests.support.estimate_story import YEAR, cast, estimate_cycle, history


def read(projector: Projector, year: int) -> dict[str, Any] | None:
    with projector.reading(estimates.NAME) as (connection, tables, _):
        return estimates.estimate(connection, tables, year)


def record(ledger: Ledger, year: int) -> dict[str, Any]:
    answer = ledger.get_estimate(year)
    return {k: v for k, v in answer.items() if k not in ("id", "budget_lines")}


def test_the_read_model_holds_each_stage_as_the_record_does(ledger: Ledger) -> None:
    side = ReadSide(ledger)
    people = cast(ledger)
    history(ledger, people)
    projector = side.projector
    projector.catch_up()
    assert read(projector, YEAR) is None  # not opened yet

    estimate_cycle(ledger, people)
    projector.catch_up()
    held = read(projector, YEAR)
    assert held == record(ledger, YEAR)
    assert held is not None and held["status"] == "approved"
    assert [n["department"] for n in held["needs"]] == ["SCT", people.district.department]
    assert held["needs"][0]["note"] == "Nhu cầu <b>đăng ký</b>"
    assert [d["version"] for d in held["drafts"]] == [1, 2]
    assert [r["reason"] for r in held["returns"]] == ["Thiếu DA3"]
    changed = [ln for ln in held["appraisal"]["lines"] if ln["reason"]]
    assert [(ln["project"], ln["amount"]) for ln in changed] == [("DA1", 25_000_000)]
    assert held["approval"]["decision_no"] == "QĐ-UBND-2016"
    with projector.reading(estimates.NAME) as (connection, tables, _):
        assert estimates.years(connection, tables) == [YEAR]
    assert check(ledger, projector) == []


def test_a_rebuild_and_a_replay_say_the_same_and_the_past_as_known_then(ledger: Ledger) -> None:
    side = ReadSide(ledger)
    people = cast(ledger)
    history(ledger, people)
    redrafted = estimate_cycle(ledger, people)
    side.projector.catch_up()
    now = read(side.projector, YEAR)
    side.projector.rebuild(estimates.NAME)
    assert read(side.projector, YEAR) == now

    before_appraisal = replay(ledger, upto_position=redrafted, names=[estimates.NAME])
    try:
        then = read(before_appraisal, YEAR)
    finally:
        before_appraisal.engine.dispose()
    assert then is not None
    assert then["status"] == "drafted" and then["appraisal"] is None and then["approval"] is None
    assert [d["version"] for d in then["drafts"]] == [1, 2]
