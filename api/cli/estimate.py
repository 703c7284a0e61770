"""``ledger estimate``: report needs, draft and show a year's estimate (dự toán).

The commands that write act as a user, named by a token (``--token`` or
``LEDGER_TOKEN``): needs are recorded for that user's department; only officers of SKHCN draft. The
draft reads its figures from the read models, caught up here first (``ledger projections
catch-up`` is not needed beforehand). The appraisal, return and approval are made through
the HTTP API by Sở Tài chính and the leaders.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from api.cli.database import acting_for, open_ledger, token_option, url_of
from api.cli.terminal import console
from ledger import commands as c
from ledger.budget_line import format_vnd
from ledger.messages import Message
from projections import estimate_inputs
from projections.projector import Projector

YEAR = click.IntRange(c.FIRST_BUDGET_YEAR, c.LAST_BUDGET_YEAR)
TOKEN = token_option
AS_JSON = click.option(
    "--json", "as_json", is_flag=True, help="Print the answer as JSON (as the API)."
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            Message("{value!r} is not a date: give YYYY-MM-DD", value=value)
        ) from None


def _print(answer: Any) -> None:
    click.echo(json.dumps(answer, ensure_ascii=False, indent=1))


@click.group()
def estimate() -> None:
    """The annual estimate: needs reported by departments, the draft of SKHCN, what it shows."""


@estimate.command("needs")
@click.argument("year", type=YEAR)
@click.option("--project", required=True, help="DA1, DA2, DA3 or DA4.")
@click.option("--support-type", required=True, help="A support type of the project, e.g. iso_9001.")
@click.option("--enterprises", required=True, type=int, help="How many enterprises need it.")
@click.option("--amount", required=True, type=int, help="City budget needed, in đồng.")
@click.option("--note", default=None, help="What the need is (optional).")
@click.option("--reported-on", default=None, help="The report's date, YYYY-MM-DD (default today).")
@TOKEN
@AS_JSON
@click.pass_context
def estimate_needs(
    ctx: click.Context,
    year: int,
    project: str,
    support_type: str,
    enterprises: int,
    amount: int,
    note: str | None,
    reported_on: str | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Report your department's needs for the estimate of YEAR."""
    command = c.ReportNeeds(
        budget_year=year,
        project=project,
        support_type=support_type,
        enterprises=enterprises,
        amount=amount,
        note=note,
        reported_on=None if reported_on is None else _date(reported_on),
    )
    with open_ledger(url_of(ctx)) as ledger:
        actor = acting_for(ledger, token)
        written = ledger.report_needs(command, actor)
    if as_json:
        _print({"id": str(written.id), "position": written.position})
        return
    click.echo(
        f"Reported the needs of {actor.department} for {year}: {project} {support_type}, "
        f"{enterprises} enterprises, {format_vnd(amount)} (need {written.id}, position "
        f"{written.position})."
    )


@estimate.command("draft")
@click.argument("year", type=YEAR)
@click.option("--prepared-on", required=True, help="The draft's date, YYYY-MM-DD.")
@TOKEN
@AS_JSON
@click.pass_context
def estimate_draft(
    ctx: click.Context, year: int, prepared_on: str, token: str | None, as_json: bool
) -> None:
    """Draft (or redraft) the estimate of YEAR from the read models and the reported needs."""
    command = c.DraftEstimate(budget_year=year, prepared_on=_date(prepared_on))
    with open_ledger(url_of(ctx)) as ledger:
        actor = acting_for(ledger, token)
        estimate_inputs.install(ledger, Projector(ledger))
        written = ledger.draft_estimate(command, actor)
    answer = {"id": str(written.id), "position": written.position, **written.extra}
    if as_json:
        _print(answer)
        return
    console().print(_lines_table(f"Draft {answer['version']} of {year}", answer["lines"]))
    click.echo(
        f"Read from the read models at position {answer['read_at']}; recorded at position "
        f"{written.position}."
    )


def _lines_table(title: str, lines: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    table.add_column("project")
    table.add_column("channel")
    table.add_column("amount", justify="right")
    table.add_column("from")
    for line in lines:
        parts = [f"{i['input']}: {format_vnd(i['amount'])}" for i in line["justification"]]
        parts += [
            f"(beside: {i['input']} {format_vnd(i['amount'])})" for i in line["informational"]
        ]
        table.add_row(
            Text(line["project"]),
            Text(line["channel"]),
            Text(format_vnd(line["amount"])),
            Text("\n".join(parts)),
        )
    return table


@estimate.command("show")
@click.argument("year", type=YEAR)
@AS_JSON
@click.pass_context
def estimate_show(ctx: click.Context, year: int, as_json: bool) -> None:
    """Show the estimate of YEAR: status, needs, drafts, appraisal, approval, budget lines."""
    with open_ledger(url_of(ctx)) as ledger:
        answer = ledger.get_estimate(year)
    if as_json:
        _print(answer)
        return
    out = console()
    click.echo(f"Estimate of {year}: {answer['status']}.")
    for need in answer["needs"]:
        click.echo(
            f"  needs of {need['department']} ({need['reported_on']}): {need['project']} "
            f"{need['support_type']}, {need['enterprises']} enterprises, "
            f"{format_vnd(need['amount'])}"
        )
    for returned in answer["returns"]:
        click.echo(f"  returned on {returned['returned_on']}: {returned['reason']}")
    if answer["drafts"]:
        latest = answer["drafts"][-1]
        title = f"Draft {latest['version']} of {len(answer['drafts'])} ({latest['prepared_on']})"
        out.print(_lines_table(title, latest["lines"]))
    appraisal = answer["appraisal"]
    if appraisal is not None:
        click.echo(
            f"Appraised on {appraisal['appraised_on']} (draft {appraisal['draft_version']}):"
        )
        for line in appraisal["lines"]:
            drafted = "—" if line["drafted"] is None else format_vnd(line["drafted"])
            why = f" — {line['reason']}" if line["reason"] else ""
            click.echo(
                f"  {line['project']} {line['channel']}: {format_vnd(line['amount'])} "
                f"(drafted {drafted}){why}"
            )
    approval = answer["approval"]
    if approval is not None:
        click.echo(f"Approved by decision {approval['decision_no']} of {approval['decided_on']}.")
        for line in answer["budget_lines"]:
            click.echo(
                f"  budget line {line['project']} {line['channel']}: assigned "
                f"{format_vnd(line['assigned'])}, available {format_vnd(line['available'])}"
            )
