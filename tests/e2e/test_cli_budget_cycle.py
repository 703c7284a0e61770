"""``ledger rules list|add`` and ``ledger year close|reopen|status`` as a newcomer runs them:
each acts for the person of ``--token`` (or ``LEDGER_TOKEN``), shows whole amounts, and says a
mistake in one line."""

from __future__ import annotations

import datetime as dt
import json

from ledger import commands as c
from ledger.service import Ledger
from tests.support.cli import one_line_error, run
from tests.support.people import People
from tests.support.scenario import Scenario

RULE = ["rules", "add", "--support-type", "iso_9001", "--max-share", "50"]
RULE += ["--max-amount", "80000000", "--document", "12/2015/QĐ-STC", "--signed-on", "2014-12-20"]
RULE += ["--from", "2015-01-01"]


def test_rules_from_the_command_line(ledger: Ledger, people: People, database_url: str) -> None:
    assert "No support rule: approvals have no cap" in run(database_url, "rules", "list").output
    nobody = one_line_error(run(database_url, *RULE))
    assert "--token or LEDGER_TOKEN" in nobody
    officer = one_line_error(run(database_url, *RULE, "--token", people.tokens["officer"]))
    assert "may not add support rule" in officer and "finance" in officer
    added = run(database_url, *RULE, env={"LEDGER_TOKEN": people.tokens["finance"]})
    assert added.exit_code == 0, added.output
    assert "at most 50% of the cost and 80.000.000 ₫, from 01/01/2015" in added.output
    again = one_line_error(run(database_url, *RULE, "--token", people.tokens["finance"]))
    assert "already takes effect on 01/01/2015" in again
    shown = run(database_url, "rules", "list", "--on", "2015-06-01", "--json")
    [rule] = json.loads(shown.output)
    assert (rule["support_type"], rule["max_amount"]) == ("iso_9001", 80_000_000)
    assert "12/2015/QĐ-STC (20/12/2014)" in run(database_url, "rules", "list").output
    assert len(ledger.get_support_rules()) == 1


def test_a_year_closed_and_reopened_from_the_command_line(
    ledger: Ledger, people: People, database_url: str
) -> None:
    story = Scenario(ledger, people)
    story.budget(1_000_000_000)  # 2015 × DA2
    app_id = story.contracted(60_000_000)
    ledger.record_disbursement(
        c.RecordDisbursement(
            application_id=app_id,
            paid_on=dt.date(2015, 6, 1),
            amount=20_000_000,
            voucher_no="UNC-CLI-1",
            kind="advance",
        ),
        people.officer,
    )
    finance = ["--token", people.tokens["finance"]]
    early = one_line_error(
        run(database_url, "year", "close", "2015", "--on", "2015-12-31", *finance)
    )
    assert "can be closed from 01/01/2016" in early
    closed = run(database_url, "year", "close", "2015", "--on", "2016-01-20", *finance)
    assert closed.exit_code == 0, closed.output
    assert "40.000.000 ₫ carried over to 2016, 940.000.000 ₫ cancelled" in closed.output
    status = run(database_url, "year", "status")
    assert "closed 20/01/2016" in status.output and "940.000.000 ₫" in status.output
    [year_2015] = json.loads(run(database_url, "year", "status", "2015", "--json").output)
    assert (year_2015["status"], year_2015["carried_out"]) == ("closed", 40_000_000)
    again = one_line_error(
        run(database_url, "year", "close", "2015", "--on", "2016-02-01", *finance)
    )
    assert "already closed" in again
    reopened = run(database_url, "year", "reopen", "2015", "--reason", "Bổ sung chứng từ", *finance)
    assert reopened.exit_code == 0, reopened.output
    assert (
        json.loads(run(database_url, "year", "status", "2015", "--json").output)[0]["status"]
        == "open"
    )
