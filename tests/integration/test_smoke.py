from ledger.service import Ledger
from tests.support.people import People
from tests.support.scenario import Scenario


def test_an_application_walks_from_submission_to_settlement(ledger: Ledger, people: People) -> None:
    scenario = Scenario(ledger, people)
    scenario.budget(100_000_000)
    app_id = scenario.settled(city=60_000_000, paid=60_000_000)
    state = ledger.get_application(app_id)
    assert state["status"] == "settled"
    assert state["disbursed"] == 60_000_000
    [line] = ledger.get_budget_lines(2015, "DA2", "city_budget")
    assert line["committed"] == 60_000_000
    assert line["available"] == 40_000_000
