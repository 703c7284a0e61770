"""``ledger estimate needs|draft|show``: a department reports, SKHCN drafts from the read
models (caught up by the command itself), and the estimate is shown; mistakes are one line."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from api.cli import cli
from ledger.service import Ledger
from tests.support.estimate_story import YEAR, cast, history


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--database-url", url, *args], prog_name="ledger")


def test_report_draft_and_show_from_the_command_line(ledger: Ledger, database_url: str) -> None:
    people = cast(ledger)
    history(ledger, people)
    year = str(YEAR)
    needs = ["estimate", "needs", year, "--project", "DA2", "--support-type", "iso_9001"]
    needs += ["--enterprises", "10", "--amount", "200000000", "--reported-on", "2015-06-01"]
    reported = run(database_url, *needs, "--token", people.tokens["sct"])
    assert reported.exit_code == 0, reported.output
    assert "Reported the needs of SCT for 2016" in reported.output

    wrong = run(database_url, *needs[:6], "patent", *needs[7:], "--token", people.tokens["sct"])
    assert wrong.exit_code != 0
    assert wrong.output.strip().splitlines() == [
        "Error: The support type patent is not one of DA2's."
    ]
    draft = ["estimate", "draft", year, "--prepared-on", "2015-07-01", "--json"]
    refused = run(database_url, *draft, "--token", people.tokens["district"])
    assert refused.exit_code != 0 and len(refused.output.strip().splitlines()) == 1
    assert "Only officers of SKHCN" in refused.output

    drafted = run(database_url, *draft, "--token", people.tokens["officer"])
    assert drafted.exit_code == 0, drafted.output
    answer = json.loads(drafted.output)
    assert answer["version"] == 1
    for line in answer["lines"]:
        assert line["amount"] == sum(item["amount"] for item in line["justification"])

    shown = run(database_url, "estimate", "show", year, "--json")
    assert shown.exit_code == 0, shown.output
    estimate = json.loads(shown.output)
    assert estimate["status"] == "drafted"
    assert estimate["drafts"][0]["lines"] == answer["lines"]
    assert estimate["needs"][0]["reported_on"] == "2015-06-01"
    table = run(database_url, "estimate", "show", year)
    assert "Estimate of 2016: drafted." in table.output and "DA2" in table.output

    nothing = run(database_url, "estimate", "show", "2018")
    assert nothing.exit_code != 0
    assert nothing.output.strip().splitlines() == [
        "Error: No estimate for 2018 yet: it opens with the first needs reported or the first "
        "draft."
    ]
