"""A unit of work is all or nothing, and what it did not commit is seen by nobody."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger import commands as c
from ledger.errors import Duplicate
from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario, funding


class Boom(Exception):
    pass


def test_a_rolled_back_unit_of_work_leaves_no_trace_in_the_cache(
    ledger: Ledger, people: People, database_url: str
) -> None:
    scenario = Scenario(ledger, people)
    app_id = scenario.submitted(city=10_000_000, enterprise_share=10_000_000)
    position = ledger.position()
    appraise = c.AppraiseApplication(
        application_id=app_id,
        appraised_on=dt.date(2015, 2, 15),
        recommended=funding(10_000_000, 10_000_000),
    )

    # Step 1: one unit of work appraises, reads the application back, then fails.
    def work() -> None:
        ledger.appraise_application(appraise, people.appraiser)
        assert ledger.get_application(app_id)["status"] == "appraised"
        raise Boom

    with pytest.raises(Boom):
        ledger.execute(work)

    # Step 2: nothing was written, and this process does not remember the lost appraisal.
    assert ledger.position() == position
    assert ledger.get_application(app_id)["status"] == "submitted"

    # Step 3: the appraisal can be made again, and a fresh process reads the same history.
    ledger.appraise_application(appraise, people.appraiser)
    fresh = Ledger(database_url)
    try:
        assert fresh.get_application(app_id)["status"] == "appraised"
        assert fresh.get_application(app_id)["version"] == 2
    finally:
        fresh.engine.dispose()


def test_commands_joined_in_one_unit_of_work_commit_together(
    ledger: Ledger, people: People
) -> None:
    scenario = Scenario(ledger, people)
    app_id = scenario.submitted()
    before = ledger.position()

    def work() -> None:
        ledger.reject_application(
            c.RejectApplication(
                application_id=app_id, decided_on=dt.date(2015, 3, 1), reason="Thiếu hồ sơ"
            ),
            people.officer,
        )
        assert ledger.get_application(app_id)["status"] == "rejected"

    ledger.execute(work)
    assert ledger.position() == before + 1
    assert ledger.get_application(app_id)["status"] == "rejected"


def test_a_refused_duplicate_takes_no_position(ledger: Ledger, people: People) -> None:
    register = c.RegisterEnterprise(
        tax_code="0105550001",
        name="Công ty CP Sao Mai",
        district="QH-DONGDA",
        sector="food",
        size="medium",
    )
    ledger.register_enterprise(register, people.officer)
    with pytest.raises(Duplicate):
        ledger.register_enterprise(register.model_copy(update={"name": "Khác"}), people.officer)
    # The next event takes the very next position: positions run 1, 2, 3, … without holes.
    written = Scenario(ledger, people).budget()
    assert written is not None
    assert ledger.position() == ledger.count_events()
