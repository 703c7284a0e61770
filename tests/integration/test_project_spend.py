"""project_spend agrees with the budget lines, the same by catch-up, rebuild and replay."""

from __future__ import annotations

import datetime as dt

from ledger import commands as c
from ledger.service import Ledger
from projections import project_spend
from projections.projector import Projector
from projections.replay import replay
from tests.support.people import People
from tests.support.scenario import Scenario


def spend(projector: Projector) -> tuple[int, list[dict[str, object]]]:
    """The city-budget rows of 2015 and, last, the applications of each project."""
    with projector.reading("project_spend") as (connection, tables, position):
        rows = project_spend.report(connection, tables, budget_year=2015)
        return position, [*rows, *project_spend.applications(connection, tables, 2015)]


def test_project_spend_matches_the_budget_line_by_every_path(
    ledger: Ledger, people: People
) -> None:
    # Step 1: a line, one settled application, one cancelled after an advance.
    scenario = Scenario(ledger, people)
    scenario.budget(200_000_000)
    scenario.settled(city=60_000_000, paid=60_000_000)
    halfway = ledger.position()
    cancelled = scenario.contracted(city=50_000_000)
    scenario.pay(cancelled, 10_000_000, "advance")
    ledger.cancel_application(
        c.CancelApplication(
            application_id=cancelled,
            cancelled_on=dt.date(2015, 6, 1),
            reason="Doanh nghiệp dừng dự án",
        ),
        people.officer,
    )

    # Step 2: catch-up folds every event; the city row equals the line.
    projector = Projector(ledger)
    assert projector.catch_up() == ledger.position()
    position, rows = spend(projector)
    assert position == ledger.position()
    [line] = ledger.get_budget_lines(2015, "DA2", "city_budget")
    [city, counts] = rows
    assert {f: city[f] for f in line if f != "id"} == {f: line[f] for f in line if f != "id"}
    assert counts == {
        "budget_year": 2015,
        "project": "DA2",
        "by_status": {"settled": 1, "cancelled": 1},
    }

    # Step 3: a rebuild into the other table set answers the same, from the same position.
    projector.rebuild()
    assert spend(projector) == (position, rows)

    # Step 4: a replay as the log stood halfway shows one application, settled.
    past = replay(ledger, upto_position=halfway)
    past_position, past_rows = spend(past)
    assert past_position == halfway
    [past_city, past_counts] = past_rows
    assert past_city["committed"] == 60_000_000
    assert past_counts["by_status"] == {"settled": 1}
